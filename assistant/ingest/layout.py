"""Layout analysis of a PDF-extracted text: one record per line, then a role for each line.

The roles are decided on evidence from the document itself: page furniture and front matter
(running heads, page numbers, title and author lines) are dropped; abstracts, keywords,
footnotes and references are grouped into blocks; numbered headings are recognised by the
numbering habits of the paper and by being shorter than the measure. :mod:`assistant.ingest.segment`
then joins the remaining body lines into paragraphs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.ingest.linewidth import LineWidthModel
from assistant.ingest.pdfclean import build_vocab, clean_line, is_fully_spaced
from assistant.ingest.source import SourceLine
from assistant.records import DocumentMeta
from assistant.text import CIRCLED, CJK_IDEO, MARKER, compact

# --- line records --------------------------------------------------------------------------------


@dataclass
class Line:
    """One non-blank line of the raw text, its repaired text and the role the cleaner gives it."""

    no: int  # 1-based line number in the raw text
    raw: str  # the raw line, stripped
    text: str  # repaired text
    page_start: bool  # the extractor indented it: first line of a page or column
    gap: int  # blank lines before it
    spaced: bool  # letter-spaced by justification, so never the last line of a paragraph
    role: str = "text"
    group: int = -1  # id of the abstract/footnote/heading block the line belongs to
    page: int | None = None  # the page it is printed on, when the source has pages
    hint: str = ""  # the role the source's layout gives it (drop, heading, footnote), if any
    starts: bool | None = None  # the source says it opens (True) or continues (False) a paragraph
    level: int = 0  # heading level from the source's font sizes or styles (0: unknown)


_MARKER_ONLY = re.compile(rf"^(?:{MARKER})+$")
# Closing punctuation never starts a typeset Chinese line, so a line starting with it is a fragment
# the extractor split off (typically after a superscript reference marker).
_LEADING_CLOSER = re.compile(r"^[。，、；：？！）》」』”’.,;:]")
_TERMINAL = re.compile(r"[。！？；：…!?.:;][”’」』）)》]*$")
_TRAILING_MARKS = re.compile(rf"(?:{MARKER})+$")


def ends_sentence(text: str) -> bool:
    """True when ``text`` ends a sentence, ignoring trailing reference or footnote markers."""
    return bool(_TERMINAL.search(_TRAILING_MARKS.sub("", text)))


def read_lines(raw: str, hints: Sequence[SourceLine] = ()) -> list[Line]:
    """One repaired :class:`Line` per non-blank raw line, split-off markers glued back on.

    ``hints`` are the source's facts about each raw line (same order), from a PDF, Word or Markdown
    reader; a plain text has none.
    """
    raw_lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if hints and len(hints) != len(raw_lines):
        raise ValueError("layout hints must match the raw text line for line")
    vocab = build_vocab(raw_lines)
    lines: list[Line] = []
    gap = 0
    for no, r in enumerate(raw_lines, 1):
        if not r.strip():
            gap += 1
            continue
        text = clean_line(r, vocab)
        ln = Line(no, r.strip(), text, r[:1].isspace(), gap, is_fully_spaced(r.strip()))
        if hints:
            h = hints[no - 1]
            ln.page, ln.hint, ln.starts, ln.level = h.page, h.role, h.starts, h.level
        gap = 0
        # A superscript marker ("[1]") and the punctuation after it come out as separate lines
        # although they sit on the same visual line: glue them back.
        glue = not ln.hint or (ln.hint == "text" and not ln.starts)
        if lines and glue and (_MARKER_ONLY.match(text) or _LEADING_CLOSER.match(text)):
            prev = lines[-1]
            prev.text += text
            prev.raw += r.strip()
            continue
        lines.append(ln)
    return lines


# --- cleaning: furniture -------------------------------------------------------------------------

_GENERIC_DROP = [
    re.compile(p)
    for p in (
        r"^\d{1,4}$",  # page number
        r"^(?:doi|DOI)\s*[:：]",
        r"中图分类号|文献标[志识]码|文章编号|收稿日期|基金项目|作者简介",
        r"^(?:Vol|No)\.\s*\d+.*\d{4}",  # "Vol.21 No.5 Sep. 2023"
        r"^\d{4}\s*年\s*\d{1,2}\s*月\s*第\s*\d+\s*卷",  # "2023年9月 第21卷 第5期"
        r"^\s*第\s*\d+\s*卷\s*第\s*\d+\s*期",
    )
]


def mark_furniture(lines: list[Line], meta: DocumentMeta, drop: Sequence[str], full: int) -> None:
    """Mark page furniture and front matter (title, authors, affiliation) with role ``drop``."""
    user = [re.compile(p) for p in drop]
    title = compact(meta.title)
    authors = compact("".join(meta.authors))
    journal = compact(meta.journal)
    counts = Counter(compact(ln.text) for ln in lines)
    for ln in lines:
        c = compact(ln.text)
        short = len(c) * 2 < full * 0.85
        hit = any(p.search(ln.raw) or p.search(ln.text) for p in user)
        hit = hit or any(p.search(ln.text) for p in _GENERIC_DROP)
        # running heads and title lines carry the title; author lines are just the names
        hit = hit or (bool(title) and title in c and len(c) <= len(title) + 12)
        hit = hit or (bool(authors) and re.sub(r"[，,、&]", "", c) == authors)
        hit = hit or (bool(journal) and journal in c and "。" not in c)
        # a short line that recurs is a running head or banner (a heading never repeats verbatim)
        # (a source with layout placed its lines: its own furniture finder saw where they repeat)
        hit = hit or (counts[c] >= 2 and short and not ends_sentence(c) and not ln.hint)
        # an affiliation: a parenthesised line with a six-digit postal code
        hit = hit or bool(short and re.match(r"^[（(].*\d{6}.*[）)]$", c))
        # table-of-contents banners of other articles: several "name：title" pairs, no sentence
        names = len(re.findall(f"[{CJK_IDEO}][:：]", c))
        hit = hit or (names >= 2 and "。" not in c and not c.endswith("："))
        if hit:
            ln.role = "drop"


def mark_source_roles(lines: list[Line]) -> None:
    """Apply the roles the source's layout states: furniture is dropped, foot-of-page notes become
    footnote blocks (a new block where the source says a note starts or the page changes)."""
    group = 20_000
    prev: Line | None = None
    for ln in lines:
        if ln.hint == "drop":
            ln.role = "drop"
        elif ln.hint == "footnote":
            # a note the source says goes on (starts False) continues the last one, even when it
            # runs on at the foot of the next column or page
            run_on = ln.starts is False and group > 20_000
            if not (run_on or (prev and prev.hint == "footnote" and not ln.starts and prev.page == ln.page)):
                group += 1
            ln.role, ln.group = "footnote", group
        if ln.hint != "drop":
            prev = ln


def mark_source_headings(lines: list[Line]) -> None:
    """Headings the source states (font size and weight, styles, ``#``); a wrapped one stays one."""
    group = 30_000
    prev: Line | None = None
    for ln in lines:
        if ln.role == "drop":
            continue
        if ln.hint == "heading" and ln.role in ("text", "heading"):
            if not (prev and prev.hint == "heading" and ln.starts is False):
                group += 1
            ln.role, ln.group = "heading", group
        prev = ln


# --- cleaning: abstracts, keywords, footnotes, notes ---------------------------------------------

_LABELS = [
    ("abstract", re.compile(r"^摘\s*要\s*[:：]\s*")),
    ("keywords", re.compile(r"^关\s*键\s*词\s*[:：]\s*")),
    ("abstract-en", re.compile(r"^(?:Abstract|ABSTRACT)\s*[:：]\s*")),
    ("keywords-en", re.compile(r"^(?:Key\s*words|KEY\s*WORDS|Keywords)\s*[:：]\s*", re.I)),
]
_CJK = re.compile(f"[{CJK_IDEO}]")
_FOOTNOTE_START = re.compile(r"^[" + CIRCLED + r"]")
_NOTES_HEADING = re.compile(r"^(?:注\s*释|注|尾\s*注)\s*[:：]?$")
_REFS_HEADING = re.compile(r"^(?:参\s*考\s*文\s*献|References|REFERENCES)\s*[:：]?$")
_REF_ENTRY = re.compile(r"^\[\d+\]")


def _label(text: str) -> tuple[str, int] | None:
    for role, pat in _LABELS:
        m = pat.match(text)
        if m:
            return role, m.end()
    return None


def mark_blocks(lines: list[Line]) -> None:
    """Assign abstract/keywords/footnote/reference roles; each block gets its own group id."""
    group = 0
    mode = "body"  # "notes" after a 注释 heading, "refs" after 参考文献
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.role != "text":
            i += 1
            continue
        lab = _label(ln.text)
        if _NOTES_HEADING.match(ln.text) or _REFS_HEADING.match(ln.text):
            mode = "notes" if _NOTES_HEADING.match(ln.text) else "refs"
            ln.role = "drop"
            i += 1
            continue
        if lab:
            # The label stays in the text ("Keywords: ..."), as printed: quotes may include it.
            role = lab[0]
            mode = "body"
        elif (
            _FOOTNOTE_START.match(ln.text)
            and ln.hint != "text"  # a line the source prints in the body face is no footnote
            and (mode == "notes" or _looks_like_page_footnote(lines, i))
        ):
            role = "footnote"
        elif mode == "refs" and _REF_ENTRY.match(ln.text):
            role = "reference"
        else:
            i += 1
            continue
        group += 1
        ln.role, ln.group = role, group
        in_notes = mode in ("notes", "refs") and role in ("footnote", "reference")
        j = i + 1
        while j < len(lines):
            nxt = lines[j]
            if nxt.role == "drop":
                j += 1
                continue
            if nxt.role != "text" or _label(nxt.text) or _FOOTNOTE_START.match(nxt.text):
                break
            if _NOTES_HEADING.match(nxt.text) or _REFS_HEADING.match(nxt.text) or _REF_ENTRY.match(nxt.text):
                break
            if not in_notes and (nxt.starts or (nxt.hint and nxt.hint != ln.hint)):
                break  # the source shows a new paragraph or a block of another kind
            if not in_notes:
                # A page-bottom block ends at the next page, or at a blank line once it is complete.
                if nxt.page_start or (nxt.gap and ends_sentence(lines[j - 1].text)):
                    break
                if role.startswith("keywords") and nxt.gap:
                    break
            nxt.role, nxt.group = role, group
            j += 1
        i = j
    # The English title, authors and affiliation that precede an English abstract are not body text.
    for k, ln in enumerate(lines):
        if ln.role == "abstract-en":
            b = k - 1
            while b >= 0 and lines[b].role in ("text", "drop") and not _CJK.search(lines[b].text):
                lines[b].role = "drop"
                b -= 1
            break


def _looks_like_page_footnote(lines: list[Line], i: int) -> bool:
    """A circled-number line is a page-bottom footnote when the layout says so, not mid-paragraph."""
    prev = lines[i - 1] if i else None
    nxt = lines[i + 1] if i + 1 < len(lines) else None
    if prev is not None and prev.role in ("drop", "footnote"):
        return True
    if nxt is None or nxt.role == "drop":
        return True
    return nxt.gap == 0 or nxt.page_start or bool(_FOOTNOTE_START.match(nxt.text))


# --- cleaning: headings --------------------------------------------------------------------------

# (style, pattern on the raw line, rank). Chinese papers nest 一、 > （一） > 1.; papers numbered
# the Western way nest 1 > 1.1 > 1.1.1. （1） items are list items inside paragraphs, not headings.
_HEADINGS = [
    ("n.n.n", re.compile(r"^(\d{1,2}\.\d{1,2}\.\d{1,2})(?![\d.])\s*(\S.*)$"), 3),
    ("n.n", re.compile(r"^(\d{1,2}\.\d{1,2})(?![\d.%])\s*(\S.*)$"), 2),
    ("n.", re.compile(r"^(\d{1,2})\s*[.．](?![\d%])\s*(\S.*)$"), 3),
    ("n", re.compile(rf"^(\d{{1,2}})\s+(?=[{CJK_IDEO}《“])(\S.*)$"), 1),
    ("cn", re.compile(r"^([一二三四五六七八九十]{1,3})\s*、\s*(\S.*)$"), 1),
    ("cn()", re.compile(r"^[（(]\s*([一二三四五六七八九十]{1,3})\s*[）)]\s*(\S.*)$"), 2),
]


def _heading_parse(ln: Line) -> tuple[str, int, str, bool] | None:
    """(label prefix, rank, numbering signature, run-in?) when the line opens with a heading number.

    A run-in item ("1.经济主权让渡问题。从风险方面看……") starts a paragraph, it is not a heading; the
    signature (style plus whether a space follows the number) lets a paper's habits decide.
    """
    raw = re.sub(r"\s+", " ", ln.raw) if not ln.spaced else ln.text
    for style, pat, rank in _HEADINGS:
        m = pat.match(raw)
        if not m:
            continue
        title = m.group(2)
        run_in = bool(re.search(r"[。；;！？]", title) or re.search(r"[，、,：:]$", title))
        num = m.group(1)
        arabic = f"{num}. " if style == "n." else f"{num} "
        prefix = {"cn": f"{num}、", "cn()": f"（{num}）"}.get(style, arabic)
        spaced_after = raw[m.start(2) - 1 : m.start(2)] == " "
        return prefix, rank, f"{style}{'_' if spaced_after else ''}", run_in
    return None


def heading_match(ln: Line) -> tuple[str, int] | None:
    """(label prefix, rank) when ``ln`` opens with a heading number and is not a run-in item."""
    parsed = _heading_parse(ln)
    return (parsed[0], parsed[1]) if parsed and not parsed[3] else None


def mark_headings(lines: list[Line], model: LineWidthModel) -> None:
    """Mark heading lines (role ``heading``); a heading wrapped onto a second short line absorbs it."""
    body = [ln for ln in lines if ln.role == "text"]
    votes: Counter[tuple[str, bool]] = Counter()
    for ln in body:
        parsed = _heading_parse(ln)
        if parsed:
            votes[(parsed[2], parsed[3])] += 1
    group = 10_000
    for k, ln in enumerate(body):
        parsed = _heading_parse(ln)
        if ln.role != "text" or not parsed or parsed[3] or ln.starts is False or ln.hint == "text":
            continue  # (nor is a line the source shows continuing a paragraph, or in the body face)
        if votes[(parsed[2], True)] > votes[(parsed[2], False)]:
            continue  # this paper numbers run-in paragraph items this way, not headings
        width = model.width(ln.text)
        short = width < model.full - 1.5
        nxt = body[k + 1] if k + 1 < len(body) else None
        wraps = (
            nxt is not None
            and width >= model.full * 0.75
            and not _heading_parse(nxt)
            and not re.search(r"[。；，、！？]", nxt.text)
            and model.width(nxt.text) < model.full * 0.6
        )
        if not (short or wraps):
            continue
        group += 1
        ln.role, ln.group = "heading", group
        if wraps and nxt is not None:
            nxt.role, nxt.group = "heading", group
