"""Damaged bytes never become answers: vectors, similarities, index files, the embedding cache
and the model's self-check (issue: integrity checks).

Every damage here is real: bytes flipped in the files a build wrote, a cache file overwritten
with garbage, a real tmpfs filled up. The CLI runs in-process with the hashing embedder.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import IndexStoreError, ModelError
from assistant.index.embedcache import EmbeddingCache, embed_with_cache, text_key
from assistant.index.embedder import PROBE_TEXT, HashingEmbedder, SentenceTransformerEmbedder
from assistant.index.integrity import check_scores, invalid_rows
from assistant.index.models import MARKER
from assistant.index.store import current_build, load_index
from tests.conftest import TEXT, assert_one_line_error, fill_disk
from tests.conftest import run_cli as run

QUESTION = "什么是负向一体化？"


def _unit(n: int = 4) -> np.ndarray:
    v = np.zeros(n, dtype=np.float32)
    v[0] = 1.0
    return v


# ---------------------------------------------------------------- the checks themselves

VECTOR_CASES = [
    pytest.param(_unit(), False, id="unit"),
    pytest.param(np.full(4, 0.5, dtype=np.float32), False, id="unit-spread"),
    pytest.param(np.array([np.nan, 0, 0, 0], dtype=np.float32), True, id="nan"),
    pytest.param(np.array([np.inf, 0, 0, 0], dtype=np.float32), True, id="infinity"),
    pytest.param(np.zeros(4, dtype=np.float32), True, id="zero"),
    pytest.param(_unit() * 2, True, id="length-2"),
    pytest.param(np.array([4e35, 0, 0, 0], dtype=np.float32), True, id="flipped-exponent"),
]


@pytest.mark.parametrize(("vector", "invalid"), VECTOR_CASES)
def test_invalid_rows(vector: np.ndarray, invalid: bool) -> None:
    rows = np.stack([_unit(), vector, _unit()])
    assert invalid_rows(rows).tolist() == ([1] if invalid else [])


@pytest.mark.parametrize(
    ("scores", "ok"),
    [
        ([0.9, 0.1, -0.2], True),
        ([1.0004], True),
        ([-1.0], True),
        ([4e35], False),
        ([float("nan")], False),
        ([0.5, float("inf")], False),
        ([1.2], False),
        ([-1.5], False),
    ],
)
def test_check_scores(scores: list[float], ok: bool) -> None:
    if ok:
        check_scores(scores)
    else:
        with pytest.raises(IndexStoreError, match=r"damaged .*assistant index --rebuild"):
            check_scores(scores)


# ---------------------------------------------------------------- damaged index files


@pytest.fixture
def indexed(corpus: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _, err = run(["index"], corpus, capsys)
    assert code == 0, err
    return corpus.parent / "index"


def _flip_float(index_dir: Path) -> None:
    """XOR 0x40 into the exponent byte of one float of one stored vector (the reported case)."""
    path = current_build(index_dir) / "vectors.faiss"
    data = bytearray(path.read_bytes())
    data[-4 * 10 + 3] ^= 0x40  # the last vector's tenth float, its high (exponent) byte
    stat = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as `touch -r`: size and mtime unchanged


def _edit_json_file(name: str, edit) -> callable:
    def damage(index_dir: Path) -> None:
        path = current_build(index_dir) / name
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")

    return damage


FILE_DAMAGE = [
    pytest.param(_flip_float, "vectors.faiss", id="flipped-float"),
    pytest.param(
        _edit_json_file("documents.json", lambda t: t.replace("边境后措施", "边境前措施")),
        "documents.json",
        id="edited-title",
    ),
    pytest.param(
        _edit_json_file("paragraphs.jsonl", lambda t: t.replace("消除", "增加")),
        "paragraphs.jsonl",
        id="edited-paragraph",
    ),
    pytest.param(
        _edit_json_file("documents.json", lambda t: "[1, 2]"), "documents.json", id="malformed-docs"
    ),
]


@pytest.mark.parametrize(("damage", "name"), FILE_DAMAGE)
def test_a_damaged_index_file_is_refused_in_one_line(indexed, corpus, capsys, damage, name) -> None:
    damage(indexed)
    code, out, err = run(["ask", QUESTION], corpus, capsys)
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert f"damaged ({name} does not match" in err and "assistant index --rebuild" in err
    code, out, err = run(["index", "--verify"], corpus, capsys)
    assert code == 1 and name in err
    code, _, err = run(["index", "--rebuild"], corpus, capsys)
    assert code == 0, err
    code, out, _ = run(["ask", QUESTION], corpus, capsys)
    assert code == 0 and "demo-2020:p1" in out


def test_malformed_documents_json_with_a_matching_digest_is_one_line(indexed, corpus, capsys) -> None:
    """Parsed inside the error handling even when the manifest was rewritten to vouch for it."""
    build = current_build(indexed)
    (build / "documents.json").write_text('[{"title": 5}]', encoding="utf-8")
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    from assistant.index.integrity import file_sha256

    manifest["files"]["documents.json"] = file_sha256(build / "documents.json")
    (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, out, err = run(["ask", QUESTION], corpus, capsys)
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert "corrupted" in err


def test_verify_passes_a_sound_index(indexed, corpus, capsys) -> None:
    code, out, err = run(["index", "--verify"], corpus, capsys)
    assert code == 0, err
    files = len(json.loads((current_build(indexed) / "manifest.json").read_text())["files"])
    assert files == 5 and f"{files} files match their digests" in out


def test_a_vector_damaged_in_memory_is_refused_at_search(indexed, corpus) -> None:
    """The digests guard the disk; the score range guards whatever got past it."""
    from assistant.index.store import search_chunks
    from assistant.index.vectorstore import FaissIndex

    index = load_index(indexed)
    vectors = index.vectors.vectors()
    vectors[0] *= 1e17
    damaged = FaissIndex.create(vectors.shape[1])
    damaged.add(vectors)
    query = HashingEmbedder(64).encode_queries([QUESTION])[0]
    with pytest.raises(IndexStoreError, match="impossible for unit vectors"):
        search_chunks(replace(index, vectors=damaged), query, 5)


# ---------------------------------------------------------------- the embedding cache


def _nan_encoder(texts, titles):
    return np.full((len(texts), 4), np.nan, dtype=np.float32)


def _good_encoder(texts, titles):
    return np.tile(_unit(), (len(texts), 1))


def test_a_model_giving_nan_puts_nothing_in_the_cache(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    with pytest.raises(ModelError, match=r"invalid vector.*nothing was cached"):
        embed_with_cache(["a", "b"], ["t", "t"], "fp", _nan_encoder, cache)
    assert cache.get_many([text_key("fp", "t\0a"), text_key("fp", "t\0b")]) == {}


@pytest.mark.parametrize(
    "stored",
    [np.full(4, np.nan, dtype=np.float32), _unit() * 3, np.ones(7, dtype=np.float32) / np.sqrt(7)],
    ids=["nan", "not-unit", "other-length"],
)
def test_a_damaged_cached_vector_is_embedded_again(tmp_path: Path, stored: np.ndarray) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    key = text_key("fp", "t\0a")
    cache.put_many({key: stored, text_key("fp", "t\0b"): _unit(), text_key("fp", "t\0c"): _unit()})
    vectors, encoded = embed_with_cache(["a", "b", "c"], ["t"] * 3, "fp", _good_encoder, cache)
    assert encoded == 1 and invalid_rows(vectors).tolist() == []
    assert np.array_equal(cache.get_many([key])[key], _unit())  # repaired in the cache too


@pytest.mark.parametrize("args", [["index"], ["index", "--rebuild"]])
def test_a_damaged_cache_file_is_one_line_naming_it(corpus, capsys, monkeypatch, tmp_path, args) -> None:
    """The cache is only used with the real model: point the CLI's build at a garbage cache file."""
    from assistant import engine as engine_module

    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(b"this is not a database, it was damaged " * 200)
    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    real = engine_module.EmbeddingCache
    monkeypatch.setattr(engine_module, "EmbeddingCache", lambda _p: real(path))
    monkeypatch.setattr(engine_module, "default_embedder", lambda _s: HashingEmbedder(64))
    from assistant.apps.cli import main

    code = main(["--corpus", str(corpus), "--index", str(tmp_path / "index"), *args])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert str(path) in err and "deleted safely" in err


# ---------------------------------------------------------------- a real full disk (tmpfs)


@pytest.fixture
def small_disk(tmpfs) -> Path:
    """A real 1 MiB tmpfs (root only)."""
    return tmpfs("1m")


def test_a_full_disk_while_faiss_writes_is_one_line_and_keeps_the_index(corpus, capsys, small_disk) -> None:
    index = small_disk / "index"
    big = HashingEmbedder(1024)  # 4 KiB a vector: the vector file is the first write and the largest
    code = _run_at(["index"], corpus, index, capsys, big)[0]
    assert code == 0
    live = current_build(index)
    before = {f.name: f.read_bytes() for f in live.iterdir()}
    (corpus / "demo-2020.txt").write_text(
        TEXT + "\n三、新增\n\n" + "监管合作降低合规成本。" * 40 + "\n", "utf-8"
    )
    fill_disk(small_disk, leave=8 * 1024)
    code, out, err = _run_at(["index"], corpus, index, capsys, big)
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert "No space left on device" in err and "previous index is unchanged" in err
    assert current_build(index) == live
    assert {f.name: f.read_bytes() for f in live.iterdir()} == before
    assert not [p for p in (index / "builds").iterdir() if p.name.startswith(".tmp-")]
    (small_disk / "filler").unlink()
    assert _run_at(["index"], corpus, index, capsys, big)[0] == 0  # space is back: the next build works


def _run_at(args, corpus: Path, index: Path, capsys, embedder) -> tuple[int, str, str]:
    from assistant.apps.cli import main

    code = main(["--corpus", str(corpus), "--index", str(index), *args], embedder)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the model's self-check


class _Model:
    """Stands in for a loaded SentenceTransformer: returns one fixed vector."""

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def encode(self, texts, **kwargs):
        return np.tile(self.vector, (len(texts), 1))


def _embedder(tmp_path: Path) -> SentenceTransformerEmbedder:
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    (model_dir / MARKER).write_text("{}", encoding="utf-8")
    return SentenceTransformerEmbedder("m", model_dir, {"w": "00"}, probe_file=tmp_path / "probe.json")


def _record(tmp_path: Path, vector: np.ndarray, fingerprint: str | None = None) -> None:
    emb = _embedder(tmp_path)
    payload = {"fingerprint": fingerprint or emb.fingerprint, "text": PROBE_TEXT, "vector": vector.tolist()}
    (tmp_path / "probe.json").write_text(json.dumps(payload), encoding="utf-8")


TURNED = np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)

SELF_CHECK = [
    pytest.param(None, _unit(), None, id="no-record-sound"),
    pytest.param(_unit(), _unit(), None, id="matches-record"),
    pytest.param(
        _unit(),
        (_unit() + 1e-4 * TURNED) / np.linalg.norm(_unit() + 1e-4 * TURNED),
        None,
        id="rounding-noise",
    ),
    pytest.param(None, np.full(4, np.nan, dtype=np.float32), "not finite unit vectors", id="nan-no-record"),
    pytest.param(_unit(), np.full(4, np.nan, dtype=np.float32), "not finite unit vectors", id="nan"),
    pytest.param(_unit(), TURNED, "no longer gives the vector recorded", id="differs-from-record"),
    pytest.param(
        np.ones(3, dtype=np.float32) / np.sqrt(3), _unit(), "no longer gives", id="record-other-dim"
    ),
]


@pytest.mark.parametrize(("recorded", "gives", "error"), SELF_CHECK)
def test_model_self_check(tmp_path: Path, recorded, gives, error) -> None:
    if recorded is not None:
        _record(tmp_path, recorded)
    emb = _embedder(tmp_path)
    if error is None:
        emb._self_check(emb._probe(_Model(gives)))
        assert (emb._path / MARKER).exists()
        return
    with pytest.raises(ModelError, match=error) as caught:
        emb._self_check(emb._probe(_Model(gives)))
    assert "assistant models fetch" in str(caught.value)
    assert not (emb._path / MARKER).exists()  # the next fetch hashes every file instead of trusting it


def test_a_record_for_another_model_is_not_compared(tmp_path: Path) -> None:
    _record(tmp_path, TURNED, fingerprint="another-model")
    emb = _embedder(tmp_path)
    emb._self_check(emb._probe(_Model(_unit())))


def test_record_probe_writes_once(tmp_path: Path) -> None:
    emb = _embedder(tmp_path)
    emb._model = _Model(_unit())  # loaded (and self-checked) already
    assert emb.record_probe() is True
    data = json.loads((tmp_path / "probe.json").read_text(encoding="utf-8"))
    assert data["fingerprint"] == emb.fingerprint and data["vector"] == _unit().tolist()
    assert emb.record_probe() is False


# ---------------------------------------------------------------- the real model, damaged in place


def _layer_norm_offset(weights: Path) -> int:
    """File offset of the high byte of a float every token passes through (layer 0's input norm)."""
    with weights.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    start = header["layers.0.input_layernorm.weight"]["data_offsets"][0]
    return 8 + size + start + 4 * 10 + 3


@pytest.mark.integration
def test_a_model_damaged_without_its_mtime_changing_is_refused(tmp_path, corpus, capsys, monkeypatch) -> None:
    """The reported case: one byte set to 0x7f and `touch -r` back, so size and mtime still match the
    verified-marker. The load's self-check refuses it in one line and drops the marker, so
    `models verify` and `models fetch` hash the file instead of trusting it."""
    from assistant.apps.cli import main
    from assistant.index.models import DEFAULT_MODEL, default_digests, is_verified, model_dir
    from assistant.settings import Settings

    real = Settings.from_env()
    source = model_dir(DEFAULT_MODEL, real.cache_dir)
    if not is_verified(source, default_digests()) or not real.probe_path.exists():
        pytest.skip("needs the verified model and its recorded probe (`assistant models fetch`)")
    cache = tmp_path / "cache"
    copy = model_dir(DEFAULT_MODEL, cache)
    shutil.copytree(source, copy, copy_function=os.link)  # hard links: no 1.2 GB copy ...
    weights = copy / "model.safetensors"
    weights.unlink()
    shutil.copy2(source / "model.safetensors", weights)  # ... but for the file that is damaged
    (cache / "probes").mkdir()
    shutil.copy(real.probe_path, cache / "probes" / real.probe_path.name)
    stat = weights.stat()
    with weights.open("r+b") as f:
        f.seek(_layer_norm_offset(weights))
        f.write(b"\x7f")
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert is_verified(copy, default_digests())  # the marker cannot see it
    monkeypatch.setenv("ASSISTANT_CACHE", str(cache))
    monkeypatch.delenv("ASSISTANT_MODEL", raising=False)
    base = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    code = main([*base, "index"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert "damaged" in err and "assistant models fetch" in err
    assert not is_verified(copy, default_digests())
    assert not (tmp_path / "index" / "CURRENT").exists()  # nothing was indexed
    code = main(["models", "verify", "--which", "embedding"])
    _, err = capsys.readouterr()
    assert code == 1 and "model.safetensors" in err


# ---------------------------------------------------------------- reading while a rebuild goes live


def test_loads_during_rebuilds_never_report_a_false_corruption(indexed, corpus) -> None:
    """Real threads: one rebuilds again and again (each build switches CURRENT and prunes), the other
    loads the index meanwhile. Before, a load could read CURRENT, lose its build to the pruning and
    report "corrupted, run assistant index"; now the replaced build is kept and a load retries."""
    import threading

    from assistant.index.manifest import corpus_hash
    from assistant.index.store import build_index
    from assistant.ingest.corpus import load_corpus

    documents, fingerprint = load_corpus(corpus), corpus_hash(corpus)
    embedder = HashingEmbedder(64)
    done, errors, loads = threading.Event(), [], [0]

    def rebuild() -> None:
        try:
            for _ in range(25):
                build_index(documents, embedder, indexed, fingerprint)
        finally:
            done.set()

    builder = threading.Thread(target=rebuild)
    builder.start()
    while not done.is_set():
        try:
            load_index(indexed, embedder.fingerprint, fingerprint)
        except IndexStoreError as exc:
            errors.append(str(exc))
        loads[0] += 1
    builder.join()
    assert loads[0] > 25 and errors == []
