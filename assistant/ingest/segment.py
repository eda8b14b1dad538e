"""Paragraph segmentation: turn a PDF-extracted text into the units of one document.

:func:`clean_document` runs the whole cleaning pipeline: it reads and classifies the lines
(:mod:`assistant.ingest.layout`), measures the paper's line width
(:mod:`assistant.ingest.linewidth`), re-joins hard-wrapped body lines into paragraphs by where
lines end short and where first lines are indented, gives each paragraph its section path, links
footnotes to the paragraph that cites them and assembles abstracts,
keywords, body paragraphs, footnotes and references.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from assistant.ingest.layout import (
    Line,
    ends_sentence,
    heading_match,
    mark_blocks,
    mark_furniture,
    mark_headings,
    mark_source_headings,
    mark_source_roles,
    read_lines,
)
from assistant.ingest.linewidth import LineWidthModel
from assistant.ingest.pdfclean import join_lines
from assistant.ingest.source import SourceText
from assistant.records import DocumentMeta, Paragraph
from assistant.text import CIRCLED

__all__ = ["clean_document"]

# --- line widths and paragraph breaks ------------------------------------------------------------


class _Widths:
    """Line widths against the local full measure (pages of one paper differ by an em or so)."""

    def __init__(self, lines: list[Line], model: LineWidthModel) -> None:
        self.model = model
        self.w = {ln.no: model.width(ln.text) for ln in lines}
        interior = [
            ln.no
            for a, ln in itertools.pairwise(lines)
            if ln.role == a.role == "text"
            and not ln.spaced
            and not ends_sentence(ln.text)
            and not ends_sentence(a.text)
            and abs(self.w[ln.no] - model.full) < 2.0
        ]
        self.interior = interior
        # First-line indent: how much narrower the first line after a heading is (about 2 em).
        firsts = [
            self.gap(b)
            for a, b in itertools.pairwise(lines)
            if a.role == "heading" and b.role == "text" and not b.spaced and not ends_sentence(b.text)
        ]
        firsts = sorted(g for g in firsts if 0.5 < g < 5)
        self.indent = firsts[len(firsts) // 2] if len(firsts) >= 3 else 2.0

    def full_at(self, no: int) -> float:
        near = sorted((abs(n - no), n) for n in self.interior)[:8]
        vals = sorted(self.w[n] for _, n in near)
        if len(vals) < 3:
            return self.model.full
        return vals[len(vals) // 2]

    def gap(self, ln: Line) -> float:
        return self.full_at(ln.no) - self.w[ln.no]


def _breaks(a: Line, b: Line, widths: _Widths, a_first: bool) -> bool:
    """Does a paragraph end between consecutive body lines ``a`` and ``b``?

    ``a_first`` says ``a`` opens its paragraph, so it is indented and its full width is smaller.
    """
    if not ends_sentence(a.text) or a.spaced:
        # no sentence end, or a justified (letter-spaced) line, which is never a paragraph's last
        return False
    if widths.gap(a) - (widths.indent if a_first else 0.0) >= 1.2:
        return True  # a short line after a sentence end: the paragraph's last line
    if b.spaced:
        return False
    gb = widths.gap(b)
    # ``a`` is full; a new paragraph shows in ``b``'s first-line indent
    lo, hi = widths.indent * 0.6, widths.indent + 1.5
    return lo <= gb <= hi and not (ends_sentence(b.text) and gb > widths.indent + 1.0)


def _body_paragraphs(lines: list[Line], widths: _Widths) -> list[tuple[tuple[str, ...], list[Line]]]:
    paras: list[tuple[tuple[str, ...], list[Line]]] = []
    stack: list[tuple[int, str]] = []
    current: list[Line] = []
    section: tuple[str, ...] = ("引言",)
    heading_lines: list[Line] = []

    def flush() -> None:
        nonlocal current
        if current:
            paras.append((section, current))
        current = []

    items = [ln for ln in lines if ln.role in ("text", "heading")]
    for k, ln in enumerate(items):
        if ln.role == "heading":
            flush()
            heading_lines.append(ln)
            if k + 1 < len(items) and items[k + 1].group == ln.group:
                continue
            first = heading_lines[0]
            match = heading_match(first)
            # a level the source states (font size, a style, ``#``) outranks what the numbering suggests
            rank = first.level or (match[1] if match else 9)
            text = _join(heading_lines)
            label = re.sub(r"^[\d.．\s]+", "", text) if match and match[0][0].isdigit() else text
            label = (match[0] + label) if match and match[0][0].isdigit() else label
            heading_lines = []
            while stack and stack[-1][0] >= rank:
                stack.pop()
            stack.append((rank, label.strip()))
            section = tuple(s for _, s in stack)
            continue
        # the source's layout (indent, gap) decides where it knows; the text's widths elsewhere
        brk = (
            ln.starts
            if ln.starts is not None
            else _breaks(current[-1], ln, widths, len(current) == 1)
            if current
            else False
        )
        if current and brk:
            flush()
        current.append(ln)
    flush()
    return paras


def _join(lines: Iterable[Line]) -> str:
    text = ""
    for ln in lines:
        text = join_lines(text, ln.text)
    return text.strip()


def _link_footnotes(lines: list[Line], body_of: dict[int, int], fn_groups: list[int]) -> dict[int, int]:
    """Map footnote group -> body paragraph index, pairing each note with the nearest earlier marker.

    Circled numbers restart on every page, so the right marker is the closest unclaimed one before
    the note (page-bottom notes) or the only one (end notes).
    """
    pos = {ln.no: i for i, ln in enumerate(lines)}
    claimed: Counter[tuple[int, str]] = Counter()
    links: dict[int, int] = {}
    for g in fn_groups:
        first = next(ln for ln in lines if ln.group == g)
        mark = first.text[0]
        for ln in reversed(lines[: pos[first.no]]):
            if ln.no not in body_of or mark not in ln.text:
                continue
            if claimed[(ln.no, mark)] < ln.text.count(mark):
                claimed[(ln.no, mark)] += 1
                links[g] = body_of[ln.no]
                break
    return links


_FRONT = {"abstract": "摘要", "keywords": "关键词", "abstract-en": "Abstract", "keywords-en": "Keywords"}


def _pages(lines: Iterable[Line]) -> dict[str, int]:
    pages = [ln.page for ln in lines if ln.page]
    return {"page_start": min(pages), "page_end": max(pages)} if pages else {}


def clean_document(
    raw: str | SourceText, meta: DocumentMeta, drop_lines: Sequence[str] = ()
) -> tuple[Paragraph, ...]:
    """Turn one extracted text into units: abstracts, keywords, body paragraphs, footnotes, references.

    ``raw`` is a plain text, or a :class:`SourceText` whose lines carry the layout a PDF, Word or
    Markdown reader saw (pages, headings, footnotes, paragraph starts); units then know their pages.
    Pure and deterministic: the same text and metadata always give the same units and refs.
    """
    doc = meta.doc_id
    if isinstance(raw, SourceText):
        lines = read_lines(raw.raw(), raw.lines if raw.has_hints else ())
    else:
        lines = read_lines(raw)
    if not lines:
        return ()
    rough = LineWidthModel.fit([ln.text for ln in lines if not ends_sentence(ln.text)])
    mark_furniture(lines, meta, drop_lines, int(rough.full * 2))
    mark_source_roles(lines)
    mark_blocks(lines)
    text_lines = [ln for ln in lines if ln.role == "text"]
    full_lines = [
        b.text
        for a, b in itertools.pairwise(text_lines)
        if not b.spaced and not ends_sentence(a.text) and not ends_sentence(b.text)
    ]
    model = LineWidthModel.fit(full_lines)
    mark_source_headings(lines)
    mark_headings(lines, model)
    widths = _Widths([ln for ln in lines if ln.role in ("text", "heading")], model)
    paras = _body_paragraphs(lines, widths)

    body_of = {ln.no: i for i, (_, group) in enumerate(paras) for ln in group}
    groups: dict[int, list[Line]] = {}
    for ln in lines:
        if ln.role in ("abstract", "keywords", "abstract-en", "keywords-en", "footnote", "reference"):
            groups.setdefault(ln.group, []).append(ln)
    fn_groups = [g for g, ls in groups.items() if ls[0].role == "footnote"]
    fn_link = _link_footnotes(lines, body_of, fn_groups)
    fn_ref = {g: f"{doc}:fn{k}" for k, g in enumerate(fn_groups, 1)}
    para_links: dict[int, list[str]] = {}
    for g in fn_groups:
        if g in fn_link:
            para_links.setdefault(fn_link[g], []).append(fn_ref[g])

    front: dict[str, list[str]] = {}
    front_lines: dict[str, list[Line]] = {}
    notes: list[Paragraph] = []
    n_ref = 0
    for g, ls in groups.items():
        role = ls[0].role
        text = _join(ls)
        if role in _FRONT:
            front.setdefault(role, []).append(text)
            front_lines.setdefault(role, []).extend(ls)
        elif role == "footnote":
            linked = fn_link.get(g)
            section = paras[linked][0] if linked is not None else ("注释",)
            link = (f"{doc}:p{linked + 1}",) if linked is not None else ()
            body = re.sub(rf"^[{CIRCLED}]\s*", "", text)
            notes.append(Paragraph(fn_ref[g], doc, "footnote", 0, section, body, link, **_pages(ls)))
        else:
            n_ref += 1
            notes.append(
                Paragraph(f"{doc}:ref{n_ref}", doc, "reference", 0, ("参考文献",), text, **_pages(ls))
            )

    def unit(role: str) -> list[Paragraph]:
        if role not in front:
            return []
        text = "".join(front[role])
        pages = _pages(front_lines[role])
        return [Paragraph(f"{doc}:{role}", doc, role, 0, (_FRONT[role],), text, **pages)]  # type: ignore[arg-type]

    out = unit("abstract") + unit("keywords")
    for i, (section, group) in enumerate(paras):
        out.append(
            Paragraph(
                f"{doc}:p{i + 1}",
                doc,
                "body",
                i + 1,
                section,
                _join(group),
                tuple(para_links.get(i, ())),
                **_pages(group),
            )
        )
    out += notes + unit("abstract-en") + unit("keywords-en")
    return tuple(out)
