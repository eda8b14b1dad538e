"""Typeset real PDFs for the tests from a cleaned document (reportlab, its built-in CID font).

``make_pdf`` lays a :class:`Document`'s units out the way a journal does: a title and author line,
the abstract, numbered headings in a larger (and for Latin fonts bold) face, body paragraphs with a
two-em first-line indent wrapped to the measure, footnotes in a smaller face at the foot of the page
(of the column) where their marker is printed, running heads and page numbers, in one column or
two. It returns where each body paragraph was printed, so tests can check the pages the PDF reader
finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from assistant.records import Document
from assistant.text import CIRCLED

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

_UNITS = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-.,'’%/:;]*|\s+|.")
_CLOSERS = "。，、；：？！）》」』”’.,;:)"


@dataclass
class Style:
    """How a test paper is printed."""

    columns: int = 1
    body_font: str = "STSong-Light"
    head_font: str = "STSong-Light"
    body_size: float = 10.5
    head_sizes: tuple[float, ...] = (14.0, 12.0, 11.0)
    note_size: float = 8.0
    leading: float = 1.55
    running_head: str = "湖北经济学院学报"
    page_numbers: bool = True
    first_folio: int = 1
    """The number printed on the first page (a journal paper starts where the issue has got to)."""
    title_size: float = 18.0
    margin: float = 60.0
    gutter: float = 18.0
    info_title: str | None = None
    info_author: str | None = None
    pages_written: int = 0


@dataclass
class Placed:
    """Where the maker put things: body paragraph text -> (first page, last page)."""

    pages: dict[str, tuple[int, int]] = field(default_factory=dict)
    page_count: int = 0


class _Typesetter:
    def __init__(self, path: Path, style: Style) -> None:
        self.s = style
        self.c = canvas.Canvas(str(path), pagesize=A4)
        if style.info_title:
            self.c.setTitle(style.info_title)
        if style.info_author:
            self.c.setAuthor(style.info_author)
        self.w, self.h = A4
        total = self.w - 2 * style.margin
        self.col_w = (total - style.gutter * (style.columns - 1)) / style.columns
        self.page = 0
        self.notes: list[list[str]] = []
        self._new_page()

    # -- pages and columns
    def _new_page(self) -> None:
        if self.page:
            self._finish_page()
        self.page += 1
        self.col = 0
        self.y = self.h - self.s.margin - 14
        self.notes = [[] for _ in range(self.s.columns)]

    def _finish_page(self) -> None:
        s, c = self.s, self.c
        if s.running_head:
            c.setFont(s.body_font, 9)
            c.drawString(s.margin, self.h - s.margin + 12, s.running_head)
        if s.page_numbers:
            c.setFont(s.body_font, 9)
            c.drawCentredString(self.w / 2, s.margin - 30, str(self.page + s.first_folio - 1))
        for col in range(s.columns):
            y = s.margin - 8 + self._notes_height(col)
            x = s.margin + col * (self.col_w + s.gutter)
            for note in self.notes[col]:
                for line in self._note_lines(note):
                    y -= s.note_size * 1.4
                    self._draw(x, y, line, s.body_font, s.note_size)
        c.showPage()

    def _note_lines(self, text: str) -> list[str]:
        return self._wrap(text, self.s.body_font, self.s.note_size, self.col_w, 0)

    def _notes_height(self, col: int | None = None) -> float:
        notes = self.notes[self.col if col is None else col]
        return sum(len(self._note_lines(t)) for t in notes) * self.s.note_size * 1.4

    def _floor(self) -> float:
        return self.s.margin + self._notes_height() + 6

    def _x(self) -> float:
        return self.s.margin + self.col * (self.col_w + self.s.gutter)

    def _advance(self, height: float) -> None:
        if self.y - height < self._floor():
            if self.col + 1 < self.s.columns:
                self.col += 1
                self.y = self.h - self.s.margin - 14
            else:
                self._new_page()
        self.y -= height

    # -- text
    def _width(self, text: str, font: str, size: float) -> float:
        return sum(pdfmetrics.stringWidth(run, f, size) for run, f in _runs(text, font))

    def _draw(self, x: float, y: float, text: str, font: str, size: float) -> None:
        for run, f in _runs(text, font):
            self.c.setFont(f, size)
            self.c.drawString(x, y, run)
            x += pdfmetrics.stringWidth(run, f, size)

    def _wrap(self, text: str, font: str, size: float, width: float, indent: float) -> list[str]:
        lines: list[str] = []
        line, avail = "", width - indent
        for unit in _UNITS.findall(text):
            if not line and unit.isspace():
                continue
            w = self._width(line + unit, font, size)
            if w > avail and line and unit[0] not in _CLOSERS:
                lines.append(line.rstrip())
                line, avail = ("" if unit.isspace() else unit), width
                continue
            line += unit
        if line.strip():
            lines.append(line.rstrip())
        return lines

    def block(
        self,
        text: str,
        font: str,
        size: float,
        indent_em: float = 0.0,
        gap: float = 0.0,
        notes: dict[str, str] | None = None,
        keep: bool = False,
    ) -> tuple[int, int]:
        """Print a paragraph; a footnote goes to the foot of the page where its marker is printed.

        Returns (first page, last page).
        """
        if gap:
            self._advance(gap)
        indent = indent_em * size
        first = last = 0
        lines = self._wrap(text, font, size, self.col_w, indent)
        if keep and self.y - (len(lines) * size + 2 * self.s.body_size) * self.s.leading < self._floor():
            self._advance(self.h)  # a heading is never split, nor left alone at a column's foot
            self.y = self.h - self.s.margin - 14
        pending = dict(notes or {})
        for k, line in enumerate(lines):
            own = [pending.pop(mark) for mark in list(pending) if mark in line]  # a note prints once
            extra = sum(len(self._note_lines(t)) for t in own) * self.s.note_size * 1.4
            if own and self.y - size * self.s.leading - extra < self._floor():
                self._advance(self.h)  # no room for the line and its note here: next column or page
                self.y = self.h - self.s.margin - 14
            self.notes[self.col].extend(own)
            self._advance(size * self.s.leading)
            self._draw(self._x() + (indent if k == 0 else 0), self.y, line, font, size)
            first = first or self.page
            last = self.page
        return first, last

    def close(self) -> int:
        self._finish_page()
        self.c.save()
        return self.page


_CID = ("STSong-Light",)


def _runs(text: str, font: str) -> list[tuple[str, str]]:
    """``text`` split into runs a font can print: reportlab's STSong-Light has no U+00B7 (the
    middle dot of 帕斯卡尔·拉米), so that one is printed in Helvetica, as a typesetter would."""
    if font not in _CID or "·" not in text:
        return [(text, font)]
    out: list[tuple[str, str]] = []
    for k, part in enumerate(text.split("·")):
        if k:
            out.append(("·", "Helvetica"))
        if part:
            out.append((part, font))
    return out


def make_pdf(doc: Document, path: Path, style: Style | None = None, repeat: int = 1) -> Placed:
    """Print ``doc`` to ``path``; ``repeat`` prints the body that many times (a long paper)."""
    s = style or Style()
    t = _Typesetter(path, s)
    placed = Placed()
    t.block(doc.meta.title, s.head_font, s.title_size, gap=4)
    if doc.meta.authors:
        t.block("  ".join(doc.meta.authors), s.body_font, 12, gap=4)
    units = {p.kind: p for p in doc.paragraphs if p.kind in ("abstract", "keywords")}
    for kind in ("abstract", "keywords"):
        if kind in units:
            t.block(units[kind].text, s.body_font, 9.5, gap=6)
    notes = {p.ref: p for p in doc.paragraphs if p.kind == "footnote"}
    body = [p for p in doc.paragraphs if p.kind == "body"]
    for _ in range(repeat):
        section: tuple[str, ...] = ("引言",)
        for p in body:
            if p.section != section:
                common = 0
                while common < min(len(p.section), len(section)) and p.section[common] == section[common]:
                    common += 1
                for depth in range(common, len(p.section)):
                    size = s.head_sizes[min(depth, len(s.head_sizes) - 1)]
                    t.block(p.section[depth], s.head_font, size, gap=size * 0.6, keep=True)
                section = p.section
            marks = re.findall(f"[{CIRCLED}]", p.text)
            own = {m: m + notes[ref].text for m, ref in zip(marks, p.links, strict=False) if ref in notes}
            pages = t.block(p.text, s.body_font, s.body_size, indent_em=2, notes=own)
            placed.pages.setdefault(" ".join(p.text.split()), pages)
    # the English title, abstract and keywords, where Chinese journals print them: after the body
    latin = ("Times-Roman", "Times-Bold") if s.body_font in _CID else (s.body_font, s.head_font)
    english = {p.kind: p for p in doc.paragraphs if p.kind in ("abstract-en", "keywords-en")}
    if english and doc.meta.title_en:
        t.block(doc.meta.title_en, latin[1], 12, gap=12)
    for kind in ("abstract-en", "keywords-en"):
        if kind in english:
            t.block(english[kind].text, latin[0], 9.5, gap=6)
    placed.page_count = t.close()
    return placed
