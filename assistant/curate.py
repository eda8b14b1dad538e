"""Add documents to the library and take them out, keeping the index in step.

Both operations change the library folder and then rebuild the index (the embedding cache means
only new or changed paragraphs are embedded). If anything fails or is interrupted after the files
were placed, the files are put back and the previous index, which the build never touched, is
again the one in use: after a failed ``add`` or ``remove`` the library and the index are exactly
as before.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.engine import build
from assistant.errors import UsageError
from assistant.index.doccache import document_loader
from assistant.index.embedder import Embedder
from assistant.index.store import BuildReport
from assistant.ingest.library import Change, Entry, Staged, entries, stage
from assistant.settings import Settings


@dataclass(frozen=True)
class AddReport:
    """What an add did: each file's outcome and the index build (None when nothing changed)."""

    staged: tuple[Staged, ...]
    build: BuildReport | None


def add_documents(
    settings: Settings,
    paths: Sequence[Path],
    embedder: Embedder | None = None,
    on_file: Callable[[Path, int, int], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_staged: Callable[[Staged], None] | None = None,
) -> AddReport:
    """Add files and folders to the library at ``settings.corpus_dir`` and rebuild the index.

    A file already added unchanged (same name, same bytes) is a no-op; a changed file replaces its
    document (its sidecar's values are kept). Raises a one-line :class:`AssistantError` for the
    first file that cannot be added, with the library and the index untouched.
    """
    if not paths:
        raise UsageError("nothing to add; name one or more files or folders")
    change = Change(settings.corpus_dir)
    try:
        load = document_loader(settings.cache_dir if embedder is None else None)
        staged = stage(settings.corpus_dir, paths, change.staging, on_file, on_staged, load)
        if all(s.action == "unchanged" for s in staged) and settings.resolved_index_dir.is_dir():
            change.close()
            return AddReport(tuple(staged), None)
        change.place(staged)
        report = build(settings, embedder, progress)
    except BaseException:
        change.rollback()
        raise
    change.commit()
    return AddReport(tuple(staged), report)


def find_entry(settings: Settings, doc_id: str) -> Entry:
    """The library's document ``doc_id`` (UsageError naming the ones there are otherwise)."""
    found = entries(settings.corpus_dir)
    for entry in found:
        if entry.doc_id == doc_id:
            return entry
    names = ", ".join(e.doc_id for e in found[:8]) + (" ..." if len(found) > 8 else "")
    raise UsageError(
        f"no document {doc_id!r} in {settings.corpus_dir} ({names or 'the library is empty'}); "
        "`assistant docs` lists them"
    )


def remove_document(
    settings: Settings,
    doc_id: str,
    embedder: Embedder | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Entry:
    """Take ``doc_id`` out of the library and rebuild the index without it; returns what was removed.

    Removing the last document also removes the index (there is nothing left to search).
    """
    entry = find_entry(settings, doc_id)
    change = Change(settings.corpus_dir)
    try:
        change.remove(entry)
        if entries(settings.corpus_dir):
            build(settings, embedder, progress)
        elif settings.resolved_index_dir.is_dir():
            shutil.rmtree(settings.resolved_index_dir)
    except BaseException:
        change.rollback()
        raise
    change.commit()
    return entry
