"""Read a PDF's text layer with pdfplumber: lines with their page, position, font size and weight.

Chosen by measurement against pypdfium2 on the PDFs the tests typeset from the seed papers
(non-embedded CID font, as many Chinese journal PDFs have): pypdfium2 was about 3.5x faster
(0.015 s against 0.05 s a page) but silently dropped every string of a single glyph, so the last
character of a wrapped heading and footnote markers on a line of their own were lost; pdfplumber
(MIT, on pdfminer.six) read every character. Correct text matters more than a few seconds, so
pdfplumber it is. Pages are read one at a time and their caches released, so memory stays bounded
on long files (``bench/add.py`` measures it).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DocumentError


@dataclass(frozen=True)
class PdfLine:
    """One printed line: its text, page, extent and baseline (PDF points, y upwards), dominant font.

    ``x0`` is where the first character's cell starts, ``bottom`` the line's baseline.
    """

    text: str
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool


@dataclass(frozen=True)
class PdfPage:
    """The lines of one page in the order the PDF draws them, and the page's size."""

    number: int
    width: float
    height: float
    lines: tuple[PdfLine, ...]


def _fail(path: Path, exc: BaseException) -> DocumentError:
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc  # pdfplumber wraps
    name = type(inner).__name__
    if "Password" in name or "Encrypt" in name:
        return DocumentError(f"{path}: the PDF is encrypted; save an unprotected copy and add that")
    msg = " ".join(str(inner).split())[:80] or name
    return DocumentError(f"{path}: not a readable PDF ({msg}); is the file complete? download it again")


def open_pdf(path: Path):  # -> pdfplumber.PDF
    """Open ``path`` with pdfplumber, turning its failures into one-line :class:`DocumentError`."""
    import pdfplumber

    try:
        return pdfplumber.open(str(path))
    except OSError as exc:
        raise DocumentError(
            f"{path}: cannot read the file ({exc.strerror}); check that it still exists"
        ) from None
    except Exception as exc:  # pdfminer raises many unrelated types for damaged files
        raise _fail(path, exc) from None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        for enc in ("utf-16", "utf-8", "latin-1"):
            try:
                return value.decode(enc).strip("\x00 ")
            except UnicodeDecodeError:
                continue
    return str(value).strip() if isinstance(value, str | int | float) else ""


def pdf_info(pdf) -> dict[str, str]:
    """The PDF's document information (title, author, subject, keywords, creationdate), lower-cased keys."""
    try:
        meta = dict(pdf.metadata or {})
    except Exception:  # a damaged info dictionary is no reason to refuse the text
        return {}
    out = {str(k).lower(): _text(v) for k, v in meta.items()}
    return {k: v for k, v in out.items() if v}


def _bold(fontname: str) -> bool:
    name = fontname.lower()
    return any(w in name for w in ("bold", "black", "heavy", "semibold", "demi"))


def _line(chars: list[dict], number: int) -> PdfLine | None:
    real = [c for c in chars if not c["text"].isspace()]
    if not real:
        return None
    size = statistics.median(c["size"] for c in real)
    text = ""
    prev = None
    for c in chars:
        # a word gap the PDF draws as space without a space character (common in TeX output)
        if (
            prev is not None
            and not c["text"].isspace()
            and not prev["text"].isspace()
            and c["x0"] - prev["x1"] > 0.25 * size
            and (c["text"].isascii() or prev["text"].isascii())
        ):
            text += " "
        text += " " if c["text"].isspace() else c["text"]
        prev = c
    base = statistics.median(
        [c["matrix"][5] for c in real if abs(c["size"] - size) < 0.3 * size] or [c["matrix"][5] for c in real]
    )
    return PdfLine(
        " ".join(text.split(" ")).strip(),
        number,
        min(c["matrix"][4] for c in real),
        max(c["x1"] for c in real),
        base + size,
        base,
        round(size, 2),
        sum(_bold(c.get("fontname", "")) for c in real) * 2 > len(real),
    )


def _page_lines(page, number: int) -> list[PdfLine]:
    """Group the page's characters, in drawing order, into lines by baseline."""
    lines: list[PdfLine] = []
    current: list[dict] = []
    last = None
    for c in page.chars:
        if not c.get("upright", True) or not c["text"]:
            continue  # rotated text (margins, stamps) is not body text
        if c["text"].isspace():
            if current:
                current.append(c)
            continue
        x0, base, size = c["matrix"][4], c["matrix"][5], c["size"] or 10.0
        if last is not None:
            other_line = abs(base - last["matrix"][5]) > 0.45 * max(size, last["size"]) and not (
                size < last["size"] * 0.85
                and last["matrix"][5] - 0.35 * last["size"]
                < base
                < last["matrix"][5] + 0.7 * last["size"]  # a superscript marker
            )
            back = x0 < last["matrix"][4] - 2 * max(size, last["size"])
            if other_line or back:
                line = _line(current, number)
                if line:
                    lines.append(line)
                current = []
        current.append(c)
        last = c
    line = _line(current, number)
    if line:
        lines.append(line)
    return lines


def read_pages(path: Path) -> Iterator[PdfPage]:
    """Yield the pages of ``path`` one at a time, releasing each page's objects before the next.

    Raises :class:`DocumentError` for an encrypted, truncated or corrupt file and for a file with no
    pages.
    """
    pdf = open_pdf(path)
    try:
        try:
            pages = pdf.pages
        except Exception as exc:
            raise _fail(path, exc) from None
        if not pages:
            raise DocumentError(f"{path}: the PDF has no pages; export it again from its source")
        for k, page in enumerate(pages):
            try:
                lines = _page_lines(page, k + 1)
                width, height = float(page.width), float(page.height)
            except DocumentError:
                raise
            except Exception as exc:
                raise _fail(path, exc) from None
            finally:
                page.close()  # drop the page's cached layout objects: bounded memory on long files
            yield PdfPage(k + 1, width, height, tuple(lines))
    finally:
        pdf.close()
