"""Read Markdown with markdown-it-py (CommonMark): ``#`` headings give the section path.

A leading single ``#`` heading is the paper's title, not a section. Paragraphs, list items and
block quotes become paragraphs; code blocks, tables and HTML blocks are left out (they are not
prose a quote could come from).
"""

from __future__ import annotations

from pathlib import Path

from assistant.errors import DocumentError
from assistant.ingest.source import SourceLine, SourceText


def parse_markdown(text: str) -> tuple[list[SourceLine], str]:
    """Lines (headings with their level, paragraphs) and the title, from a Markdown text."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(text)
    blocks: list[tuple[int, str]] = []  # (heading level or 0, text)
    level = 0
    for tok in tokens:
        if tok.type == "heading_open":
            level = int(tok.tag[1:])
        elif tok.type == "inline":
            words = " ".join((tok.content or "").split())
            if words:
                blocks.append((level, words))
            level = 0
    title = ""
    h1 = [t for lv, t in blocks if lv == 1]
    if blocks and blocks[0][0] == 1 and len(h1) == 1:
        title = blocks.pop(0)[1]
    shift = 1 if title else 0
    lines = [
        SourceLine(t, None, "heading", True, lv - shift) if lv else SourceLine(t, None, "text", True)
        for lv, t in blocks
    ]
    return lines, title


def read_markdown(path: Path, text: str) -> SourceText:
    """Read the Markdown ``text`` of ``path`` into lines."""
    lines, title = parse_markdown(text)
    if not any(ln.role == "text" for ln in lines):
        raise DocumentError(f"{path}: the Markdown file has no paragraphs; is it the right file?")
    info = {"title": title, "first_page": "\n".join(ln.text for ln in lines[:12])}
    return SourceText(tuple(lines), 0, {k: v for k, v in info.items() if v}, "md")
