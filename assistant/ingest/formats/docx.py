"""Read a Word ``.docx`` with python-docx: headings from the paragraph styles, footnotes kept.

python-docx (MIT) reads the body paragraphs and their styles; ``Heading N`` and ``Title`` styles
(and their translated names, which Word stores as the same style ids) give the heading levels.
python-docx has no footnote API, so the footnotes part is read from the package's XML: each
reference in the body becomes a circled marker (①, ② ...) and its note follows that paragraph
with the same marker, which is how the cleaner links notes to the paragraph that carries them.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from assistant.errors import DocumentError
from assistant.ingest.source import SourceLine, SourceText
from assistant.text import CIRCLED

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)
_MARKS = [chr(c) for c in range(ord(CIRCLED[0]), ord(CIRCLED[-1]) + 1)]


def _footnotes(document) -> dict[str, str]:
    """Footnote id -> its text, from the package's footnotes part (empty when there is none)."""
    part = next((p for p in document.part.package.parts if p.partname.endswith("/footnotes.xml")), None)
    if part is None:
        return {}
    from lxml import etree

    root = etree.fromstring(part.blob)
    out: dict[str, str] = {}
    for note in root.iter(f"{_W}footnote"):
        text = "".join(t.text or "" for t in note.iter(f"{_W}t")).strip()
        if text and note.get(f"{_W}type") is None:  # separators have a type
            out[note.get(f"{_W}id")] = text
    return out


def _paragraph(par, notes: dict[str, str]) -> tuple[str, list[str]]:
    """The paragraph's text with a circled marker where each footnote is referenced, and the notes."""
    text, own = "", []
    for node in par._p.iter(f"{_W}t", f"{_W}footnoteReference", f"{_W}tab", f"{_W}br"):
        if node.tag == f"{_W}t":
            text += node.text or ""
        elif node.tag == f"{_W}footnoteReference":
            note = notes.get(node.get(f"{_W}id"))
            if note:
                mark = _MARKS[len(own) % len(_MARKS)]
                text += mark
                own.append(mark + note)
        else:
            text += " "
    return " ".join(text.split()), own


def _level(style_name: str) -> int:
    if style_name.lower() in ("title", "标题"):
        return -1
    m = _HEADING.match(style_name.strip())
    return int(m[1]) if m else 0


def read_docx(path: Path) -> SourceText:
    """Read ``path`` into lines: one per paragraph, headings with their level, notes after their paragraph."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(
            f"{path}: not a readable Word file ({type(exc).__name__}); save it again as .docx"
        ) from None
    notes = _footnotes(document)
    lines: list[SourceLine] = []
    title = ""
    for par in document.paragraphs:
        text, own = _paragraph(par, notes)
        if not text:
            continue
        level = _level(par.style.name if par.style is not None else "")
        if level < 0:
            title = title or text
            continue
        if level:
            lines.append(SourceLine(text, None, "heading", True, level))
        else:
            lines.append(SourceLine(text, None, "text", True))
        lines.extend(SourceLine(note, None, "footnote", True) for note in own)
    if not any(ln.role == "text" for ln in lines):
        raise DocumentError(f"{path}: the Word file has no text paragraphs; is it the right file?")
    core = document.core_properties
    info = {
        "title": title or (core.title or ""),
        "author": core.author or "",
        "keywords": core.keywords or "",
        "subject": core.subject or "",
        "creationdate": core.created.isoformat() if core.created else "",
        "first_page": "\n".join(ln.text for ln in lines[:12]),
    }
    return SourceText(tuple(lines), 0, {k: v for k, v in info.items() if v}, "docx")
