"""``assistant add``, ``assistant docs`` and ``assistant remove``: the user's own papers.

On a terminal, adding shows a progress bar with the file being read, then the chunks being embedded
(count, rate, time left) and, above it, a line per file (its doc_id, pages and paragraphs); in a log
each file is one plain line on stdout and a slow embedding a line every ~10 s on stderr (the same
display as ``assistant index``, from :mod:`assistant.apps.progress`). The table of documents
is drawn by rich to the terminal's width (``$COLUMNS`` respected, CJK counted double).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.ingest.library import Staged


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)


def _outcome(item: Staged) -> str:
    """One file's line: what happened, its doc_id, where it came from, pages and paragraphs."""
    if item.action == "unchanged":
        return f"unchanged  {item.doc_id:<16} {item.origin} (already added; nothing to do)"
    doc = item.document
    assert doc is not None
    body = sum(p.kind == "body" for p in doc.paragraphs)
    verb = "replaced" if item.action == "replace" else "read"
    return f"{verb:<10} {item.doc_id:<16} {item.origin} ({_pages(doc.meta.pages)}, {body} paragraphs)"


Callbacks = tuple[Callable[[Path, int, int], None], Callable[[int, int], None], Callable[["Staged"], None]]


@contextmanager
def _bar() -> Iterator[Callbacks]:
    """(on_file, on_embedded, on_staged) callbacks: on a terminal a bar with the file being read,
    then the chunks embedded (count, rate, time left), each file's outcome printed above it; in a
    log a plain line now and then, as ``assistant index`` prints (the outcomes go to stdout)."""
    from assistant.apps.progress import track

    with track("embedding", "chunks") as steps:

        def on_staged(item: Staged) -> None:
            steps.above(_outcome(item))

        yield steps.file, steps.count, on_staged


def _pages(n: int) -> str:
    return f"{n} page{'s' if n != 1 else ''}" if n else "no pages"


def cmd_add(args: argparse.Namespace) -> int:
    """Add files and folders; one line per file on stdout, progress on a terminal's stderr."""
    from assistant.curate import add_documents

    settings = _settings(args)
    with _bar() as (on_file, on_embedded, on_staged):
        report = add_documents(settings, args.paths, args.embedder, on_file, on_embedded, on_staged)
    # stdout says what the library now holds, once everything is in (the terminal saw progress)
    for item in report.staged:
        print(_outcome(item).replace("read      ", "added     ", 1))
    if report.build is not None:
        b = report.build
        print(
            f"indexed {b.n_documents} documents ({b.embedded} chunks embedded, "
            f"{b.n_chunks - b.embedded} from cache) in {b.seconds:.1f}s; library: {settings.corpus_dir}"
        )
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    """The documents in the library as a table (or JSON lines with --json)."""
    import json

    from assistant.index.store import document_sizes
    from assistant.ingest.corpus import read_meta
    from assistant.ingest.library import entries

    settings = _settings(args)
    found = entries(settings.corpus_dir)
    sizes = document_sizes(settings.resolved_index_dir)
    rows = []
    for entry in found:
        meta, _ = read_meta(entry.sidecar)
        paragraphs, last_page = sizes.get(entry.doc_id, (0, 0))
        rows.append(
            {
                "doc_id": entry.doc_id,
                "title": meta.title,
                "authors": list(meta.authors),
                "year": meta.year,
                "pages": meta.pages or last_page or None,
                "paragraphs": paragraphs if entry.doc_id in sizes else None,
                "added": meta.added[:10] or None,
                "file": entry.path.name,
            }
        )
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if not rows:
        print(f"the library at {settings.corpus_dir} is empty; add papers with `assistant add FILE...`")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} documents in {settings.corpus_dir}", title_justify="left")
    for name, kw in (
        ("doc_id", {"no_wrap": True}),
        ("title", {"ratio": 3, "overflow": "fold"}),
        ("authors", {"ratio": 1, "overflow": "fold"}),
        ("year", {"justify": "right", "no_wrap": True}),
        ("pages", {"justify": "right", "no_wrap": True}),
        ("paragraphs", {"justify": "right", "no_wrap": True}),
        ("added", {"no_wrap": True}),
    ):
        table.add_column(name, **kw)
    dash = "–"
    for r in rows:
        table.add_row(
            r["doc_id"],
            r["title"],
            "、".join(r["authors"])
            if any("\u4e00" <= ch <= "\u9fff" for a in r["authors"] for ch in a)
            else ", ".join(r["authors"]),
            str(r["year"] or "n.d."),
            str(r["pages"] or dash),
            str(r["paragraphs"] if r["paragraphs"] is not None else "not indexed"),
            r["added"] or "bundled",
        )
    Console(soft_wrap=False).print(table)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Take documents out of the library and the index."""
    from assistant.curate import remove_document

    settings = _settings(args)
    for doc_id in args.doc_ids:
        with _bar() as (_, on_embedded, _staged):
            entry = remove_document(settings, doc_id, args.embedder, on_embedded)
        print(f"removed    {entry.doc_id:<16} {entry.path.name} (added from {entry.source})")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``add``, ``docs`` and ``remove``."""
    p = sub.add_parser("add", help="add PDF, Word, Markdown, HTML or text files (or folders) to the library")
    p.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="files, or folders to search recursively"
    )
    p.set_defaults(func=cmd_add)
    p = sub.add_parser("docs", help="list the documents in the library")
    p.add_argument("--json", action="store_true", help="one JSON object per document")
    p.set_defaults(func=cmd_docs)
    p = sub.add_parser("remove", help="take documents out of the library and the index")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="as `assistant docs` lists them")
    p.set_defaults(func=cmd_remove)
