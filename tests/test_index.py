"""Index build/load: round trip, cache reuse, refusals, atomicity."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from assistant.index.embedcache import EmbeddingCache
from assistant.index.embedder import HashingEmbedder
from assistant.index.store import IndexStoreError, build_index, chunk_title, current_build, load_index
from assistant.records import Document


def build(documents, embedder, index_dir: Path, corpus: str = "c1", cache=None):
    return build_index(documents, embedder, index_dir, corpus, cache=cache)


def test_round_trip(documents, embedder, index_dir) -> None:
    report = build(documents, embedder, index_dir)
    loaded = load_index(index_dir, embedder.fingerprint, "c1")
    assert loaded.vectors.size == report.n_chunks == len(loaded.chunks)
    assert set(loaded.paragraphs) == {p.ref for d in documents for p in d.paragraphs}
    assert loaded.documents["alpha-2020"].title == "边境后措施研究"
    assert loaded.manifest.model_name == embedder.name


@pytest.mark.parametrize(
    ("model_fp", "corpus", "message"),
    [
        ("another-model", "c1", "another model"),
        (None, "c2", "out of date"),
    ],
)
def test_incompatible_index_is_refused_with_rebuild_hint(
    documents, embedder, index_dir, model_fp, corpus, message
):
    build(documents, embedder, index_dir)
    with pytest.raises(IndexStoreError, match=message) as err:
        load_index(index_dir, model_fp or embedder.fingerprint, corpus)
    assert "assistant index" in str(err.value)
    assert "\n" not in str(err.value)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:50])


def _drop_chunk_line(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")


def _garble_manifest(path: Path) -> None:
    path.write_text("{not json", encoding="utf-8")


@pytest.mark.parametrize(
    ("filename", "damage"),
    [
        ("vectors.faiss", _truncate),
        ("chunks.jsonl", _drop_chunk_line),
        ("manifest.json", _garble_manifest),
        ("paragraphs.jsonl", lambda p: p.unlink()),
    ],
)
def test_damaged_index_gives_one_line_error(documents, embedder, index_dir, filename, damage) -> None:
    build(documents, embedder, index_dir)
    damage(current_build(index_dir) / filename)
    with pytest.raises(IndexStoreError) as err:
        load_index(index_dir, embedder.fingerprint, "c1")
    assert "assistant index" in str(err.value) and "\n" not in str(err.value)


def test_missing_index(index_dir) -> None:
    with pytest.raises(IndexStoreError, match="no index found"):
        load_index(index_dir)


class ExplodingEmbedder(HashingEmbedder):
    """Fails after the first batch, like a build killed midway."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(dim=128)
        self.calls = 0
        self.exc = exc

    def encode_documents(self, texts, titles=None):
        self.calls += 1
        if self.calls > 1:
            raise self.exc
        return super().encode_documents(texts, titles)


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("disk full")])
def test_failed_build_leaves_previous_index_usable(documents, embedder, index_dir, tmp_path, exc) -> None:
    build(documents, embedder, index_dir)
    before = load_index(index_dir, embedder.fingerprint, "c1")
    many = [dataclasses.replace(d, source_sha256="x") for d in documents] * 1
    exploding = ExplodingEmbedder(exc)
    bigger = many + [_renamed(documents[0], f"copy{i}") for i in range(40)]
    with pytest.raises(type(exc)):
        build_index(bigger, exploding, index_dir, "c9")
    after = load_index(index_dir, embedder.fingerprint, "c1")
    assert after.manifest == before.manifest
    assert not [p for p in (index_dir / "builds").iterdir() if p.name.startswith(".tmp")]


def _renamed(doc: Document, suffix: str) -> Document:
    paras = tuple(
        dataclasses.replace(
            p,
            ref=p.ref.replace(doc.doc_id, doc.doc_id + suffix),
            doc_id=doc.doc_id + suffix,
            text=p.text + suffix,
        )
        for p in doc.paragraphs
    )
    meta = dataclasses.replace(doc.meta, doc_id=doc.doc_id + suffix)
    return Document(meta, doc.source_sha256, paras)


def test_rebuild_reuses_cached_embeddings(documents, embedder, index_dir, tmp_path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = build(documents, embedder, index_dir, cache=cache)
    assert first.embedded == first.n_chunks
    again = build(documents, embedder, index_dir, cache=cache)
    assert again.embedded == 0
    edited = list(documents)
    p = edited[0].paragraphs[0]
    edited[0] = dataclasses.replace(
        edited[0], paragraphs=(dataclasses.replace(p, text=p.text + "新增一句。"), *edited[0].paragraphs[1:])
    )
    third = build(edited, embedder, index_dir, corpus="c2", cache=cache)
    assert (
        third.embedded == 2
    )  # only the edited window and the one new sentence; its old sentences are cached
    loaded = load_index(index_dir, embedder.fingerprint, "c2")
    titles = [chunk_title(loaded.documents[c.doc_id], loaded.paragraphs[c.ref]) for c in loaded.chunks]
    fresh = embedder.encode_documents([c.text for c in loaded.chunks], titles)
    scores, ids = loaded.vectors.search(fresh[:1], 1)
    assert ids[0][0] == 0 and np.isclose(scores[0][0], 1.0, atol=1e-5)


def test_manifest_records_model_and_corpus(documents, embedder, index_dir) -> None:
    build(documents, embedder, index_dir)
    manifest = json.loads((current_build(index_dir) / "manifest.json").read_text())
    assert manifest["model_fingerprint"] == embedder.fingerprint
    assert manifest["corpus_hash"] == "c1"
    assert manifest["dim"] == embedder.dim
    assert set(manifest["documents"]) == {"alpha-2020", "beta-2023"}


def test_rebuild_ignores_cached_embeddings(documents, embedder, index_dir, tmp_path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = build(documents, embedder, index_dir, cache=cache)
    again = build_index(documents, embedder, index_dir, "c1", cache=cache, reuse_cache=False)
    assert again.embedded == again.n_chunks == first.n_chunks


def test_cleaning_code_is_hashed_by_folder(tmp_path: Path) -> None:
    """Any module added to (or changed in) the ingest package marks indexes stale; a missing part fails."""
    import shutil

    from assistant.errors import IndexStoreError
    from assistant.index.manifest import CLEANING_CODE, code_hash

    ingest = tmp_path / "assistant" / "ingest"
    shutil.copytree(CLEANING_CODE[0], ingest, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_hash([ingest])
    (ingest / "new_rule.py").write_text("RULE = 1\n", encoding="utf-8")
    added = code_hash([ingest])
    (ingest / "new_rule.py").write_text("RULE = 2\n", encoding="utf-8")
    assert len({before, added, code_hash([ingest])}) == 3
    with pytest.raises(IndexStoreError, match="reinstall"):
        code_hash([tmp_path / "assistant" / "missing.py"])
