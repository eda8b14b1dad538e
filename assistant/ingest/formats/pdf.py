"""A PDF's lines in reading order with the layout facts its geometry gives.

From per-character positions and font sizes (:mod:`.pdfchars`) this decides, page by page:
- reading order: a page whose lines fall into two halves with a gutter is read column by column;
- page furniture: lines that recur at the top or bottom of pages (digits ignored, so running page
  numbers count as one line) and bare page numbers;
- footnotes: the run of lines in a smaller face at the foot of the page, below the body text;
- headings: lines in a face larger than the body's (their sizes rank the levels), and short bold
  lines in the body size;
- paragraph starts: a first-line indent against the column's left edge, or a vertical gap wider
  than the paper's line pitch; a line that does neither continues the paragraph, across pages too.
The text cleaner then runs on these lines as on any extracted text.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from assistant.errors import DocumentError
from assistant.ingest.formats.pdfchars import PdfLine, PdfPage, open_pdf, pdf_info, read_pages
from assistant.ingest.source import Role, SourceLine, SourceText

_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_PAGE_NO = re.compile(r"^[-–—\s]*\d{1,4}[-–—\s]*$")
_NOTE_MARK = re.compile(r"^(?:[①-⑳]|\[\d{1,3}\]|\d{1,3}[.)\s]|\*)")
# an English abstract and keywords are often printed small after the body: labelled, they are no notes
_FRONT_LABEL = re.compile(r"^\s*(?:Abstract|ABSTRACT|Key\s?words|KEY\s?WORDS|摘\s*要|关\s*键\s*词)\s*[:：]")
_SENTENCE_END = re.compile(r"[。！？.!?：:；;]$")
# a text layer this thin on most pages means the pages are images (a scan)
_MIN_CHARS_PER_PAGE = 20


def _same(a: float, b: float) -> bool:
    """Two font sizes are the same face size (sizes in a paper differ by at least half a point)."""
    return abs(a - b) < 0.3


def _key(text: str) -> str:
    return _DIGITS.sub("#", _SPACE.sub("", text))


def _body_size(pages: Sequence[PdfPage]) -> float:
    weight: Counter[float] = Counter()
    for page in pages:
        for ln in page.lines:
            weight[round(ln.size * 2) / 2] += len(ln.text)
    return weight.most_common(1)[0][0] if weight else 10.0


def _column(ln: PdfLine, page: PdfPage) -> int:
    """0 for a line across the page, 1 for the left half, 2 for the right half."""
    if ln.x1 - ln.x0 > page.width * 0.55:
        return 0
    return 1 if (ln.x0 + ln.x1) / 2 < page.width / 2 else 2


def _reading_order(page: PdfPage) -> list[tuple[PdfLine, int]]:
    """Lines top to bottom with their column; a two-column page is read left column, then right."""
    by_y = sorted(page.lines, key=lambda ln: (-round(ln.bottom, 0), ln.x0))
    cols = [(ln, _column(ln, page)) for ln in by_y]
    left = [c for c in cols if c[1] == 1]
    right = [c for c in cols if c[1] == 2]
    # two columns: most lines are narrow, and the left ones end where the right ones begin (a
    # last page may hold only a few lines in its right column); a centred page number or a short
    # line says nothing about columns, and punctuation may overhang a column by a few points
    wide_left = [ln for ln, _ in left if ln.x1 - ln.x0 > page.width * 0.2]
    wide_right = [ln for ln, _ in right if ln.x1 - ln.x0 > page.width * 0.2]
    two = (
        len(wide_left) >= 2
        and len(wide_right) >= 2
        and len(left) + len(right) >= 0.6 * len(cols)
        and max(ln.x1 for ln in wide_left) < min(ln.x0 for ln in wide_right) + 6
    )
    if not two:
        return [(ln, 0) for ln in by_y]
    top = max(ln.bottom for ln, _ in left + right)
    above = [c for c in cols if c[1] == 0 and c[0].bottom > top]
    below = [c for c in cols if c[1] == 0 and c[0].bottom <= top]
    return above + left + right + below


def _furniture(pages: Sequence[list[PdfLine]]) -> set[int]:
    """ids of lines that recur at the top or bottom of pages, and bare page numbers there."""
    edge_keys: Counter[str] = Counter()
    edges: list[list[PdfLine]] = []
    for lines in pages:
        if not lines:
            edges.append([])
            continue
        ordered = sorted(lines, key=lambda ln: -ln.bottom)
        edge = ordered[:2] + ordered[-2:]
        edges.append(edge)
        for key in {_key(ln.text) for ln in edge}:
            edge_keys[key] += 1
    need = 2 if len(pages) <= 4 else 3
    drop: set[int] = set()
    for edge in edges:
        for ln in edge:
            if _PAGE_NO.match(ln.text) or (edge_keys[_key(ln.text)] >= need and len(_key(ln.text)) <= 80):
                drop.add(id(ln))
    return drop


_FOLIO = re.compile(r"^[-–—·•\s]*(\d{1,4})[-–—·•\s]*$|^(\d{1,4})\s+\S|\S\s+(\d{1,4})$")


def folio_offset(pages: Sequence[list[PdfLine]]) -> int:
    """How far the printed page numbers run ahead of the PDF's page index (a journal paper that
    starts on page 117 gives 116), or 0 when the pages print no consistent numbers.

    A page number is a bare number at the top or bottom of the page, or one that opens or closes
    a running head there; the offset must hold on at least half the pages (and two of them).
    """
    votes: Counter[int] = Counter()
    for k, lines in enumerate(pages, 1):
        ordered = sorted(lines, key=lambda ln: -ln.bottom)
        seen = set()
        for ln in ordered[:2] + ordered[-2:]:
            m = _FOLIO.match(ln.text.strip())
            if m:
                offset = int(next(g for g in m.groups() if g)) - k
                if offset >= 0 and offset not in seen:
                    seen.add(offset)
                    votes[offset] += 1
    if not votes:
        return 0
    offset, count = votes.most_common(1)[0]
    return offset if count >= max(2, len(pages) / 2) else 0


def _footnotes(placed: list[tuple[PdfLine, int]], body: float, dropped: set[int]) -> set[int]:
    """ids of the smaller-face lines at the foot of a page (or of a column), below its body text."""
    content = [(ln, col) for ln, col in placed if id(ln) not in dropped]
    floors: dict[int, float] = {}
    for ln, col in content:
        if _same(ln.size, body):
            for c in (0, 1, 2) if col == 0 else (0, col):
                floors[c] = min(floors.get(c, ln.bottom), ln.bottom)
    notes: set[int] = set()
    labelled = False  # inside an abstract or keywords block printed small below the body
    for ln, col in content:
        if not (col in floors and ln.bottom < floors[col] and ln.size < body * 0.92):
            continue
        if _FRONT_LABEL.match(ln.text):
            labelled = True
        elif _NOTE_MARK.match(ln.text):
            labelled = False
        if not labelled:
            notes.add(id(ln))
    return notes


def _title_lines(first: list[PdfLine], body: float) -> list[PdfLine]:
    """The largest-face lines at the top of the first page: the title."""
    big = [ln for ln in first if ln.size >= body * 1.3]
    if not big:
        return []
    size = max(ln.size for ln in big)
    return [ln for ln in big if abs(ln.size - size) < 0.5]


def _opens_body(page: list[tuple[PdfLine, int]], ln: PdfLine, body: float, skip: set[int]) -> bool:
    """True for a larger or bold line directly above the first body-size line: the first heading."""
    if _same(ln.size, body) and not ln.bold:
        return False
    rest = [x for x, _ in page if id(x) not in skip]
    k = next((i for i, x in enumerate(rest) if x is ln), None)
    return k is not None and k + 1 < len(rest) and _same(rest[k + 1].size, body) and ln.size >= body - 0.3


def analyse(pages: Sequence[PdfPage]) -> tuple[list[SourceLine], dict[str, str]]:
    """The hinted lines of a whole PDF in reading order, and what its first page shows."""
    body = _body_size(pages)
    placed = [_reading_order(p) for p in pages]
    ordered = [[ln for ln, _ in page] for page in placed]
    dropped = _furniture(ordered)
    title = _title_lines(ordered[0], body) if ordered else []
    dropped |= {id(ln) for ln in title}
    notes: set[int] = set()
    for page in placed:
        notes |= _footnotes(page, body, dropped)
    # notes numbered with markers: an unmarked note line at a foot runs on from the note before
    marked = any(_NOTE_MARK.match(ln.text) for lines in ordered for ln in lines if id(ln) in notes)
    skip = dropped | notes
    sizes = {round(ln.size * 2) / 2 for lines in ordered for ln in lines if id(ln) not in skip}
    level_of = {
        size: k + 1 for k, size in enumerate(sorted((z for z in sizes if z >= body + 0.45), reverse=True))
    }
    pitches = [
        a.bottom - b.bottom
        for lines in ordered
        for a, b in itertools.pairwise(lines)
        if _same(a.size, body) and _same(b.size, body) and 0 < a.bottom - b.bottom < body * 3
    ]
    pitch = statistics.median(pitches) if pitches else body * 1.5
    if title and placed:
        # above the title on the first page: the journal's banner, printed once on a short paper
        first = next(k for k, (ln, _) in enumerate(placed[0]) if ln is title[0])
        dropped |= {id(ln) for ln, _ in placed[0][:first] if ln.size < body - 0.3}
    folio = folio_offset(ordered)
    out: list[SourceLine] = []
    front = True  # the first page's lines above its first body-size line: title, authors, abstract
    for page in placed:
        margins: dict[int, float] = {}
        for ln, col in page:
            if _same(ln.size, body) and id(ln) not in skip:
                margins[col] = min(margins.get(col, ln.x0), ln.x0)
        prev: tuple[PdfLine, int] | None = None
        for ln, col in page:
            role: Role = ""
            starts: bool | None = None
            level = 0
            size = round(ln.size * 2) / 2
            front = (
                front
                and not (_same(ln.size, body) and id(ln) not in skip)
                and not _opens_body(page, ln, body, skip)
            )
            if id(ln) in dropped:
                role = "drop"
            elif id(ln) in notes:
                role = "footnote"
                starts = bool(_NOTE_MARK.match(ln.text)) or (
                    not marked and (prev is None or id(prev[0]) not in notes)
                )
            elif front:
                pass  # front matter: the cleaner knows its labels and the sidecar's names
            elif size in level_of or (ln.bold and _same(ln.size, body) and not _SENTENCE_END.search(ln.text)):
                role, level = "heading", level_of.get(size, len(level_of) + 1)
                wrapped = (
                    prev is not None
                    and bool(out)
                    and out[-1].role == "heading"
                    and prev[1] == col
                    and _same(prev[0].size, ln.size)
                    and 0 < prev[0].bottom - ln.bottom < ln.size * 1.8
                )
                starts = not wrapped
            elif _same(ln.size, body):
                role = "text"
                indented = ln.x0 - margins.get(col, ln.x0) > ln.size * 0.9
                gapped = prev is not None and prev[1] == col and prev[0].bottom - ln.bottom > pitch * 1.45
                starts = indented or gapped or (bool(out) and out[-1].role == "heading")
            out.append(SourceLine(ln.text, ln.page + folio, role, starts, level))
            if role != "drop":
                prev = (ln, col)
    title_ids = {id(ln) for ln in title}
    first_page = [ln.text for ln in ordered[0] if id(ln) not in title_ids] if ordered else []
    info = {"title_layout": " ".join(ln.text for ln in title), "first_page": "\n".join(first_page)}
    return out, info


def _text_pages(pages: Iterable[PdfPage]) -> int:
    return sum(1 for p in pages if sum(len(ln.text) for ln in p.lines) >= _MIN_CHARS_PER_PAGE)


def read_pdf(path: Path) -> SourceText:
    """Read ``path`` into hinted lines; refuses encrypted, corrupt, empty and scanned PDFs."""
    pages = list(read_pages(path))
    with_text = _text_pages(pages)
    if with_text == 0 or with_text * 4 < len(pages):
        raise DocumentError(
            f"{path}: no text layer on {len(pages) - with_text} of {len(pages)} pages (a scan?); "
            "run OCR on it first (for example `ocrmypdf in.pdf out.pdf`) and add the result"
        )
    lines, info = analyse(pages)
    pdf = open_pdf(path)
    try:
        info |= pdf_info(pdf)
    finally:
        pdf.close()
    return SourceText(tuple(lines), len(pages), info, "pdf")
