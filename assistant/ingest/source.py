"""What a format reader hands the cleaner: lines of text with the layout facts the file gave.

A plain ``.txt`` has no layout, so its lines carry no hints and the cleaner decides everything from
the text. A PDF knows each line's page, font size and position; Word and Markdown know headings.
Hints say only what the file states for certain; ``None`` leaves the decision to the cleaner.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
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

    Raises :class:`CorpusError` for an unreadable, empty, binary or non-UTF-8 file, naming the fix.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise read_error(path, exc) from None
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


# --- what a library file must be ------------------------------------------------------------------

_SPECIAL = (
    (stat.S_ISDIR, "a folder, not a file; move what it holds out of the library or rename it"),
    (stat.S_ISFIFO, "a named pipe (FIFO), not a file; remove it and put a regular file there"),
    (stat.S_ISSOCK, "a socket, not a file; remove it and put a regular file there"),
    (stat.S_ISCHR, "a device, not a file; remove it and put a regular file there"),
    (stat.S_ISBLK, "a device, not a file; remove it and put a regular file there"),
)


def shown(path: Path) -> str:
    """``path`` as printable text: bytes that are not UTF-8 appear as ``\\xb9`` escapes.

    A name from an archive made on a GBK system holds surrogate escapes after decoding; printed
    as is they either crash a UTF-8 stdout or show as nothing a user can recognise or type.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _utf8_hint(name: str) -> str:
    """The name the bytes spell in GB18030 (which covers GBK), as a suggested new name, if they do."""
    try:
        guess = os.fsencode(name).decode("gb18030")
    except UnicodeDecodeError:
        return "rename it to a UTF-8 name"
    return f"rename it to UTF-8, e.g. to {guess!r} if it came from a GBK system"


def check_name(path: Path) -> None:
    """CorpusError when ``path``'s name is not valid UTF-8 (GBK names from unpacked zip archives).

    Such a file is refused rather than read: its name cannot be shown, typed or written into a
    TOML sidecar (``source = ...``), so pairing it with a sidecar and naming it in messages, in
    ``assistant docs`` and in progress lines would each fail or print mojibake. Renaming once
    fixes all of it, and the message suggests the name the bytes spell in GBK.
    """
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        hint = _utf8_hint(path.name)
        raise CorpusError(f"{shown(path)}: the file name is not valid UTF-8; {hint}") from None


def check_regular_file(path: Path) -> None:
    """CorpusError (one line naming ``path`` and the fix) unless it is a readable regular file.

    Only ``stat`` is called, never ``open``: opening a FIFO for reading waits for a writer that
    never comes, which made ``assistant index`` hang. A FIFO, socket, device or folder named like
    a document is refused rather than skipped, so a document never silently drops out of the
    answers. Symlinks are followed (a loop or a dangling link is named as such).
    """
    check_name(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CorpusError(
                f"{path}: symlink loop (the link leads back to itself); replace it with the file itself"
            ) from None
        if exc.errno == errno.ENOENT and path.is_symlink():
            raise CorpusError(f"{path}: broken symlink; replace it with the file itself") from None
        raise read_error(path, exc) from None
    for is_kind, what in _SPECIAL:
        if is_kind(mode):
            raise CorpusError(f"{path}: is {what}")
    if not stat.S_ISREG(mode):  # pragma: no cover - every other kind is listed above
        raise CorpusError(f"{path}: not a regular file; replace it with the document's file")
    if not os.access(path, os.R_OK):
        raise read_error(path, PermissionError(errno.EACCES, os.strerror(errno.EACCES)))


def read_error(path: Path, exc: OSError) -> CorpusError:
    """The one-line error for a library file that cannot be read, with the fix for its cause."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        fix = f"make it readable (chmod u+r {shown(path)!r}) or remove it"
    elif exc.errno == errno.EISDIR:
        fix = "it is a folder; move what it holds out of the library or rename it"
    elif exc.errno == errno.ENOENT:
        fix = "it vanished while being read; run the command again"
    elif exc.errno == errno.EIO:
        fix = "the disk or share failed while reading it; copy the file in again from a good copy"
    else:
        fix = "check the file, or copy it in again"
    reason = exc.strerror or type(exc).__name__
    return CorpusError(f"{shown(path)}: cannot read the file ({reason}); {fix}")
