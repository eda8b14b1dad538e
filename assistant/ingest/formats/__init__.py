"""Readers that turn a user's file (PDF, Word, Markdown, HTML, text) into :class:`SourceText`.

Each reader keeps what the format says about layout (page, heading, footnote, paragraph start) as
hints on the lines; :func:`assistant.ingest.segment.clean_document` still runs the text cleaning.
"""

from __future__ import annotations

from pathlib import Path

from assistant.errors import DocumentError
from assistant.ingest.source import SourceText, from_plain_text, read_text_file

SUFFIXES = (".pdf", ".docx", ".md", ".markdown", ".html", ".htm", ".txt")
"""The file types a library takes, in the order a document's source is looked for."""


def read_source(path: Path) -> SourceText:
    """Read one file of a supported type into lines with layout hints.

    Raises :class:`DocumentError` (one line, naming the file and the fix) for an unsupported type
    and for a file its reader cannot read.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from assistant.ingest.formats.pdf import read_pdf

        return read_pdf(path)
    if suffix == ".docx":
        from assistant.ingest.formats.docx import read_docx

        return read_docx(path)
    if suffix in (".md", ".markdown", ".html", ".htm", ".txt"):
        text, _ = read_text_file(path)
        if suffix in (".md", ".markdown"):
            from assistant.ingest.formats.markdown import read_markdown

            return read_markdown(path, text)
        if suffix in (".html", ".htm"):
            from assistant.ingest.formats.html import read_html

            return read_html(path, text)
        return from_plain_text(text)
    raise unsupported(path)


def unsupported(path: Path) -> DocumentError:
    """The one-line error for a file of a type no reader takes, naming the types that are."""
    suffix = path.suffix.lower()
    kinds = ", ".join(s.lstrip(".") for s in SUFFIXES)
    hint = " (save it as .docx)" if suffix == ".doc" else ""
    return DocumentError(
        f"{path}: cannot read {suffix or 'files without a suffix'}{hint}; supported: {kinds}"
    )
