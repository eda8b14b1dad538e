"""What a format reader hands the cleaner: lines of text with the layout facts the file gave.

A plain ``.txt`` has no layout, so its lines carry no hints and the cleaner decides everything from
the text. A PDF knows each line's page, font size and position; Word and Markdown know headings.
Hints say only what the file states for certain; ``None`` leaves the decision to the cleaner.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from assistant.errors import CorpusError

Role = Literal["", "text", "drop", "heading", "footnote"]


@dataclass(frozen=True)
class SourceLine:
    """One line of a document as its reader saw it."""

    text: str
    page: int | None = None
    """1-based page the line is printed on (None for formats without pages)."""
    role: Role = ""
    """``text`` (body text: its face says it is no heading or note), ``drop`` (page furniture),
    ``heading``, ``footnote``, or empty to let the cleaner decide."""
    starts: bool | None = None
    """True when the line opens a paragraph (indent, gap, a new block), False when it continues
    one; None when the reader cannot tell."""
    level: int = 0
    """For headings: 1 for the largest heading size or ``#``, 2 the next, ...; 0 unknown."""


@dataclass(frozen=True)
class SourceText:
    """A document's lines in reading order, with what the file says about itself."""

    lines: tuple[SourceLine, ...]
    pages: int = 0
    """Page count (0 for formats without pages)."""
    info: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Metadata the file states (``title``, ``author``, ``subject``, ``keywords``, ``created`` ...)."""
    kind: str = "txt"
    """The format it was read from: ``pdf``, ``docx``, ``md``, ``html`` or ``txt``."""

    @property
    def has_hints(self) -> bool:
        """True when any line carries a layout fact."""
        return any(ln.page or ln.role or ln.starts is not None for ln in self.lines)

    def raw(self) -> str:
        """The lines as one text, the form the cleaner reads."""
        return "\n".join(ln.text for ln in self.lines)


def from_plain_text(text: str) -> SourceText:
    """A plain text as lines without hints (the ``.txt`` path, unchanged)."""
    return SourceText(
        tuple(SourceLine(t) for t in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    )


def read_text_file(path: Path) -> tuple[str, str]:
    """A UTF-8 text file's text (BOM removed) and the SHA-256 of its bytes.

    Raises :class:`CorpusError` for an empty, binary or non-UTF-8 file, naming the fix.
    """
    data = path.read_bytes()
    if not data.strip():
        raise CorpusError(f"{path}: file is empty; put the document's text in it or remove it")
    if b"\x00" in data:
        raise CorpusError(f"{path}: looks binary (NUL bytes); text documents must be UTF-8 plain text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not valid UTF-8 (byte {exc.start}); re-save it as UTF-8 (iconv -f GB18030 -t UTF-8)"
        ) from None
    return text.removeprefix("\ufeff"), hashlib.sha256(data).hexdigest()
