"""Read a saved web page with selectolax: the main text's headings and paragraphs.

selectolax (MIT, on the lexbor parser) was chosen over trafilatura because a paper page's structure
is what matters here (h1-h6 give the section path) and selectolax keeps it with one small
dependency; navigation, headers, footers, asides, scripts and forms are removed first, and the
``<main>`` or ``<article>`` element is read when the page has one.
"""

from __future__ import annotations

from pathlib import Path

from assistant.errors import DocumentError
from assistant.ingest.source import SourceLine, SourceText

_NOISE = "script, style, noscript, nav, header, footer, aside, form, figure, table, svg, button"
_BLOCKS = "h1, h2, h3, h4, h5, h6, p, li, blockquote, dd"


def read_html(path: Path, text: str) -> SourceText:
    """Read the HTML ``text`` of ``path`` into lines (headings with their level, paragraphs)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(text)
    for node in tree.css(_NOISE):
        node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.body
    page_title = tree.css_first("title")
    meta_author = tree.css_first('meta[name="author"], meta[name="citation_author"]')
    blocks: list[tuple[int, str]] = []
    if root is not None:
        for node in root.css(_BLOCKS):
            if node.tag in ("li", "blockquote", "dd") and node.css_first("p"):
                continue  # its paragraphs are read themselves
            words = " ".join(node.text(separator=" ").split())
            if words:
                blocks.append(
                    (int(node.tag[1]) if node.tag[0] == "h" and node.tag[1:].isdigit() else 0, words)
                )
    title = ""
    if blocks and blocks[0][0] == 1 and sum(lv == 1 for lv, _ in blocks) == 1:
        title = blocks.pop(0)[1]
    title = title or (" ".join(page_title.text().split()) if page_title else "")
    shift = 1 if title and not any(lv == 1 for lv, _ in blocks) else 0
    lines = [
        SourceLine(t, None, "heading", True, max(1, lv - shift)) if lv else SourceLine(t, None, "text", True)
        for lv, t in blocks
    ]
    if not any(ln.role == "text" for ln in lines):
        raise DocumentError(f"{path}: the web page has no paragraphs of text; is it the right file?")
    info = {
        "title": title,
        "author": (meta_author.attributes.get("content") or "") if meta_author else "",
        "first_page": "\n".join(ln.text for ln in lines[:12]),
    }
    return SourceText(tuple(lines), 0, {k: v for k, v in info.items() if v}, "html")
