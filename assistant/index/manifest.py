"""What an index build records and how its tables are read back.

The manifest says what a build was made from (format, model, corpus fingerprint, the SHA-256 of
each of its files); :class:`LoadedIndex` is a live build in memory. The corpus fingerprint covers
every library file and the cleaning code, so an index built by older cleaning rules is stale.
Both the build (``store``) and everything that reads an index use these definitions.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.errors import IndexStoreError
from assistant.index.vectorstore import VectorIndex
from assistant.ingest.formats import SUFFIXES
from assistant.ingest.glossary import Glossary, GlossaryEntry
from assistant.ingest.source import read_error
from assistant.records import Chunk, DocumentMeta, Paragraph

# 2: the manifest records the SHA-256 of every file of its build (checked at every load).
FORMAT_VERSION = 2
REBUILD_HINT = "run `assistant index` to rebuild it"


@dataclass(frozen=True)
class Manifest:
    """What an index was built from; compared at load time."""

    format_version: int
    tool_version: str
    model_name: str
    model_fingerprint: str
    model_digests: dict[str, str]
    dim: int
    corpus_hash: str
    documents: dict[str, str]
    n_chunks: int
    n_paragraphs: int
    built_at: str
    build_seconds: float = 0.0
    embedded_chunks: int = 0
    extra: dict[str, object] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    """SHA-256 of every other file of the build, so a damaged byte is refused, not searched."""


@dataclass(frozen=True)
class LoadedIndex:
    """A live index in memory: vectors, chunk table (row i <-> vector i) and paragraphs by ref."""

    manifest: Manifest
    vectors: VectorIndex
    chunks: tuple[Chunk, ...]
    paragraphs: dict[str, Paragraph]
    documents: dict[str, DocumentMeta]
    glossary: Glossary = field(default_factory=Glossary)

    def doc_paragraphs(self, doc_id: str) -> list[Paragraph]:
        """The units of one document in reading order."""
        return [p for p in self.paragraphs.values() if p.doc_id == doc_id]

    def neighbours(
        self, ref: str, before: int = 1, after: int = 1
    ) -> tuple[list[Paragraph], list[Paragraph]]:
        """Units just before and after ``ref`` in its document's reading order (KeyError if unknown)."""
        p = self.paragraphs[ref]
        units = self.doc_paragraphs(p.doc_id)
        i = units.index(p)
        return units[max(0, i - before) : i], units[i + 1 : i + 1 + after]


# ---------------------------------------------------------------- corpus hash


# What turns raw text into paragraphs, chunks and glossary terms: the whole ingest package and the
# foundation modules it builds on. Hashed by folder, so a module added or renamed there is covered.
_PACKAGE = Path(__file__).resolve().parent.parent
CLEANING_CODE = (_PACKAGE / "ingest", _PACKAGE / "text.py", _PACKAGE / "records.py")


def code_hash(parts: Sequence[Path] = CLEANING_CODE) -> str:
    """Hash of every ``.py`` file in ``parts`` (folders recursively), names and bytes.

    Part of the corpus hash so that an index built by older cleaning rules is detected as stale
    even when the raw files did not change. A part that is missing is an error, never skipped.
    """
    h = hashlib.sha256()
    for part in parts:
        files = sorted(part.rglob("*.py")) if part.is_dir() else [part]
        if not files or not all(f.is_file() for f in files):
            raise IndexStoreError(f"cannot read the cleaning code in {part}; reinstall the package")
        for f in files:
            h.update(f.relative_to(part.parent).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def corpus_hash(corpus_dir: Path) -> str:
    """A fingerprint of every corpus file (text and metadata) plus the cleaning code."""
    h = hashlib.sha256(code_hash().encode())
    if corpus_dir.is_dir():
        for path in sorted(corpus_dir.iterdir()):
            if path.suffix.lower() in (*SUFFIXES, ".toml", ".tsv") and path.is_file():
                # fsencode: a file name that is not valid UTF-8 (GBK names from unpacked zip
                # files) hashes by its bytes instead of failing to encode.
                try:
                    data = path.read_bytes()
                except OSError as exc:  # a disk failing mid-read, a file vanishing: one line
                    raise read_error(path, exc) from None
                h.update(os.fsencode(path.name) + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


# ---------------------------------------------------------------- (de)serialisation


def paragraph_to_json(p: Paragraph) -> dict[str, object]:
    return asdict(p)


def paragraph_from_json(d: dict) -> Paragraph:
    """A :class:`Paragraph` from its JSON form (``asdict``)."""
    return Paragraph(
        ref=d["ref"],
        doc_id=d["doc_id"],
        kind=d["kind"],
        number=int(d["number"]),
        section=tuple(d["section"]),
        text=d["text"],
        links=tuple(d.get("links", ())),
        page_start=d.get("page_start"),
        page_end=d.get("page_end"),
    )


def meta_from_json(d: dict) -> DocumentMeta:
    """A :class:`DocumentMeta` from its JSON form (``asdict``)."""
    d = dict(d)
    d["authors"] = tuple(d.get("authors", ()))
    return DocumentMeta(**d)


def entry_from_json(d: dict) -> GlossaryEntry:
    return GlossaryEntry(**{**d, "refs": tuple(d.get("refs", ()))})
