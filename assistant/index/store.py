"""The on-disk index: FAISS vectors + manifest + chunk and paragraph tables.

Layout under the index directory::

    CURRENT                 name of the live build (replaced atomically)
    builds/<name>/          manifest.json, vectors.faiss, chunks.jsonl, paragraphs.jsonl
    .lock                   held while a build runs

A build is written into a fresh folder and only becomes live when ``CURRENT``
is atomically replaced, so a failed or interrupted build leaves the previous
index usable. Loading checks the manifest against the current model and corpus
and refuses a mismatch with a hint to rebuild, and every file against the digest the manifest
recorded. What the manifest holds and how the tables are read back is in ``index.manifest``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from assistant import __version__
from assistant.errors import IndexStoreError
from assistant.index.embedcache import EmbeddingCache, embed_with_cache
from assistant.index.embedder import Embedder
from assistant.index.integrity import (
    REBUILD_DAMAGED,
    check_files,
    check_scores,
    digest_files,
    invalid_rows,
)
from assistant.index.manifest import (
    FORMAT_VERSION,
    REBUILD_HINT,
    LoadedIndex,
    Manifest,
    entry_from_json,
    meta_from_json,
    paragraph_from_json,
    paragraph_to_json,
)
from assistant.index.vectorstore import FaissIndex, choose_kind
from assistant.ingest.chunking import chunk_paragraphs
from assistant.ingest.glossary import Glossary
from assistant.records import Chunk, Document, DocumentMeta, Paragraph


def _write_jsonl(path: Path, rows: Sequence[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_durably(path: Path, text: str) -> None:
    """Write ``text`` and fsync it, so a rename that publishes it never points at an empty file."""
    with path.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------- build


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock so two builds never race on one index directory."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexStoreError(f"another build is running on {index_dir}; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def chunk_title(meta: DocumentMeta, paragraph: Paragraph) -> str:
    """The context embedded with a chunk: the document's short title and the unit's section path."""
    return " ".join(x for x in (meta.label, *paragraph.section) if x)


@dataclass(frozen=True)
class BuildReport:
    """What a build did: how many chunks there are and how many had to be embedded."""

    path: Path
    n_documents: int
    n_paragraphs: int
    n_chunks: int
    embedded: int
    seconds: float


@contextlib.contextmanager
def _write_errors(index_dir: Path) -> Iterator[None]:
    """Turn a failure to write (full disk, read-only folder) into a one-line IndexStoreError."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise IndexStoreError(
            f"could not write the index in {index_dir} ({reason}); the previous index is unchanged"
        ) from exc


def build_index(
    documents: Sequence[Document],
    embedder: Embedder,
    index_dir: Path,
    corpus_fingerprint: str,
    cache: EmbeddingCache | None = None,
    reuse_cache: bool = True,
    model_digests: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    glossary: Glossary | None = None,
    index_type: str = "auto",
) -> BuildReport:
    """Chunk, embed (reusing cached vectors) and atomically install a new index build.

    ``index_type`` is ``flat``, ``hnsw`` or ``auto`` (flat until the corpus is large enough
    for approximate search to pay; see ``vectorstore.choose_kind``).

    A failure to write becomes a one-line IndexStoreError; the previous build stays live either way.
    """
    with _write_errors(index_dir):
        started = time.perf_counter()
        paragraphs = [p for d in documents for p in d.paragraphs]
        chunks = chunk_paragraphs(paragraphs)
        if not chunks:
            raise IndexStoreError("the corpus has no text to index; add documents to the corpus directory")
        with build_lock(index_dir):
            metas = {d.doc_id: d.meta for d in documents}
            by_ref = {p.ref: p for p in paragraphs}
            vectors, embedded = embed_with_cache(
                [c.text for c in chunks],
                [chunk_title(metas[c.doc_id], by_ref[c.ref]) for c in chunks],
                embedder.fingerprint,
                embedder.encode_documents,
                cache,
                reuse=reuse_cache,
                progress=progress,
            )
            store = FaissIndex.create(
                vectors.shape[1], choose_kind(len(vectors), vectors.shape[1], index_type)
            )
            store.add(vectors)
            manifest = Manifest(
                format_version=FORMAT_VERSION,
                tool_version=__version__,
                model_name=embedder.name,
                model_fingerprint=embedder.fingerprint,
                model_digests=dict(model_digests or {}),
                dim=int(vectors.shape[1]),
                corpus_hash=corpus_fingerprint,
                documents={d.doc_id: d.source_sha256 for d in documents},
                n_chunks=len(chunks),
                n_paragraphs=len(paragraphs),
                built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                build_seconds=round(time.perf_counter() - started, 3),
                embedded_chunks=embedded,
                extra={"vector_index": store.kind},
            )
            builds = index_dir / "builds"
            builds.mkdir(exist_ok=True)
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}-{corpus_fingerprint[:8]}"
            tmp = builds / f".tmp-{name}"
            final = builds / name
            try:
                tmp.mkdir()
                store.save(tmp / "vectors.faiss")
                _write_jsonl(tmp / "chunks.jsonl", [asdict(c) for c in chunks])
                _write_jsonl(tmp / "paragraphs.jsonl", [paragraph_to_json(p) for p in paragraphs])
                (tmp / "documents.json").write_text(
                    json.dumps([asdict(d.meta) for d in documents], ensure_ascii=False, indent=1),
                    encoding="utf-8",
                )
                _write_jsonl(tmp / "glossary.jsonl", [asdict(e) for e in (glossary or Glossary()).entries])
                for f in tmp.iterdir():
                    with f.open("rb") as fh:
                        os.fsync(fh.fileno())
                # Hashed after the fsync, from the disk: what a later load will read.
                manifest = replace(manifest, files=digest_files(tmp, (f.name for f in tmp.iterdir())))
                _write_durably(tmp / "manifest.json", json.dumps(asdict(manifest), indent=1))
                tmp.rename(final)
                _fsync_dir(builds)
                previous = _live_name(index_dir)
                pointer = index_dir / "CURRENT.tmp"
                _write_durably(pointer, name + "\n")
                os.replace(pointer, index_dir / "CURRENT")
                _fsync_dir(index_dir)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                if _live_name(index_dir) != name:
                    shutil.rmtree(final, ignore_errors=True)
                raise
            _prune_builds(builds, keep=(name, previous))
        return BuildReport(
            final, len(documents), len(paragraphs), len(chunks), embedded, time.perf_counter() - started
        )


def _live_name(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _prune_builds(builds: Path, keep: tuple[str | None, ...]) -> None:
    """Remove older and abandoned builds, keeping the live one and the one it replaced.

    The replaced build stays until the next build: a reader that read ``CURRENT`` just before the
    switch is still opening it, and removing it under that reader made it report a false
    "corrupted" (best effort: a removal that fails is retried at the next build).
    """
    for entry in builds.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)


# ---------------------------------------------------------------- load


def current_build(index_dir: Path) -> Path:
    """The folder of the live build, or IndexStoreError if there is none."""
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        raise IndexStoreError(f"no index found in {index_dir}; {REBUILD_HINT}")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexStoreError(
            f"index in {index_dir} is damaged (unreadable CURRENT); {REBUILD_HINT}"
        ) from exc
    path = index_dir / "builds" / name
    if not name or "/" in name or not path.is_dir():
        raise IndexStoreError(f"index in {index_dir} is damaged (live build missing); {REBUILD_HINT}")
    return path


def _manifest_at(build: Path) -> Manifest:
    path = build / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexStoreError(
            f"index manifest {path} is unreadable ({type(exc).__name__}); {REBUILD_HINT}"
        ) from exc


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest of the live build."""
    return _manifest_at(current_build(index_dir))


def load_index(
    index_dir: Path,
    model_fingerprint: str | None = None,
    corpus_fingerprint: str | None = None,
) -> LoadedIndex:
    """Load the live build, refusing it if it was built by another model or from another corpus,
    or if any of its files no longer matches the digest its manifest recorded."""
    build = current_build(index_dir)
    try:
        return _load_build(index_dir, build, model_fingerprint, corpus_fingerprint)
    except IndexStoreError:
        # A rebuild may have gone live while this build was being read; the new one is whole.
        again = current_build(index_dir)
        if again == build:
            raise
        return _load_build(index_dir, again, model_fingerprint, corpus_fingerprint)


def _load_build(
    index_dir: Path, build: Path, model_fingerprint: str | None, corpus_fingerprint: str | None
) -> LoadedIndex:
    manifest = _manifest_at(build)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexStoreError(
            f"index format {manifest.format_version} is not supported (this version writes "
            f"{FORMAT_VERSION}; an upgrade does this once); {REBUILD_HINT}"
        )
    if model_fingerprint is not None and manifest.model_fingerprint != model_fingerprint:
        raise IndexStoreError(
            f"index was built with another model ({manifest.model_name}, {manifest.model_fingerprint}); "
            + REBUILD_HINT
        )
    if corpus_fingerprint is not None and manifest.corpus_hash != corpus_fingerprint:
        raise IndexStoreError(
            "index is out of date: the corpus or the cleaning code changed since it was built "
            f"(an upgrade does this once); {REBUILD_HINT}"
        )
    check_files(build, manifest.files, index_dir)
    try:
        vectors = FaissIndex.load(build / "vectors.faiss")
        chunks = tuple(Chunk(**json.loads(line)) for line in (build / "chunks.jsonl").open(encoding="utf-8"))
        paragraphs = [
            paragraph_from_json(json.loads(line)) for line in (build / "paragraphs.jsonl").open("rb")
        ]
        docs = json.loads((build / "documents.json").read_text(encoding="utf-8"))
        documents = {d["doc_id"]: meta_from_json(d) for d in docs}
        glossary = Glossary(
            tuple(entry_from_json(json.loads(line)) for line in (build / "glossary.jsonl").open("rb"))
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise IndexStoreError(
            f"index in {index_dir} is corrupted ({str(exc)[:100]}); {REBUILD_HINT}"
        ) from exc
    if vectors.size != len(chunks) or vectors.size != manifest.n_chunks or vectors.dim != manifest.dim:
        raise IndexStoreError(
            f"index in {index_dir} is inconsistent ({vectors.size} vectors, {len(chunks)} chunks); "
            + REBUILD_HINT
        )
    by_ref = {p.ref: p for p in paragraphs}
    if any(c.ref not in by_ref for c in chunks):
        raise IndexStoreError(
            f"index in {index_dir} is inconsistent (chunk without paragraph); {REBUILD_HINT}"
        )
    return LoadedIndex(manifest, vectors, chunks, by_ref, documents, glossary)


def verify_index(index_dir: Path) -> tuple[int, int]:
    """The deep check of the live build: every file against its digest (as every load does) and
    every stored vector finite and of unit length. Returns (files checked, vectors checked)."""
    index = load_index(index_dir)
    bad = invalid_rows(index.vectors.vectors())
    if len(bad):
        raise IndexStoreError(
            f"index in {index_dir} is damaged ({len(bad)} of {index.vectors.size} vectors are not finite "
            f"unit vectors, the first at row {bad[0]}); {REBUILD_DAMAGED}"
        )
    return len(index.manifest.files), index.vectors.size


def search_chunks(index: LoadedIndex, query: np.ndarray, k: int, doc_ids: frozenset[str] | None = None):
    """Top chunk rows for one query vector as [(row, score)], optionally restricted to some documents."""
    allowed = [i for i, c in enumerate(index.chunks) if c.doc_id in doc_ids] if doc_ids else None
    if allowed is not None and not allowed:
        return []
    scores, ids = index.vectors.search(query.reshape(1, -1), k, allowed)
    check_scores(scores[0][ids[0] >= 0].tolist())
    return [
        (row, float(score))
        for row, score in zip(ids[0].tolist(), scores[0].tolist(), strict=True)
        if row >= 0
    ]


def document_sizes(index_dir: Path) -> dict[str, tuple[int, int]]:
    """doc_id -> (body paragraphs, last page printed) in the live build; empty without an index."""
    try:
        path = current_build(index_dir) / "paragraphs.jsonl"
        rows = [json.loads(line) for line in path.open("rb")]
    except (IndexStoreError, OSError, ValueError):
        return {}
    sizes: dict[str, tuple[int, int]] = {}
    for row in rows:
        n, last = sizes.get(row["doc_id"], (0, 0))
        sizes[row["doc_id"]] = (n + (row["kind"] == "body"), max(last, row.get("page_end") or 0))
    return sizes
