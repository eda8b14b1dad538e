"""Cleaned documents cached by what made them: the cleaning code, the source's bytes, the sidecar's.

Reading a PDF costs tens of milliseconds a page; without this every ``assistant add`` and
``assistant index`` would read every paper of the library again. A document is read once, the
first time its exact bytes are seen under the current cleaning code; a changed file, an edited
sidecar or new cleaning rules make a new key. Safe to delete at any time (it only costs reading).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from assistant.index.manifest import code_hash, meta_from_json, paragraph_from_json
from assistant.ingest.corpus import load_document
from assistant.ingest.source import SourceText
from assistant.records import Document


class DocumentCache:
    """A folder of ``<key>.json`` documents; :meth:`load` has the signature of ``load_document``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._code = code_hash()

    def _key(self, source: Path, side: Path) -> str:
        h = hashlib.sha256(self._code.encode())
        for path in (source, side):
            h.update(
                b"\0" + path.suffix.lower().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest()
            )
        return h.hexdigest()

    def load(self, source: Path, side: Path, read: tuple[str | SourceText, str] | None = None) -> Document:
        """The cleaned document of ``source`` + ``side``, read and cleaned only when not cached
        (``read`` as for :func:`load_document`)."""
        try:
            key = self._key(source, side)
        except OSError:
            return load_document(source, side, read)  # let the loader name the unreadable file
        path = self.folder / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Document(
                meta_from_json(data["meta"]),
                data["source_sha256"],
                tuple(paragraph_from_json(p) for p in data["paragraphs"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            pass
        doc = load_document(source, side, read)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(asdict(doc), ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs reading again
        return doc


def document_loader(cache_dir: Path | None) -> Callable[..., Document]:
    """The cached loader for a cache folder, or the plain one without."""
    return DocumentCache(cache_dir / "documents").load if cache_dir is not None else load_document
