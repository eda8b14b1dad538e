"""Load the corpus (``<name>.txt`` + ``<name>.toml``) and clean PDF-extracted text into paragraphs.

The cleaner works on evidence from the document itself rather than constants: it measures the
typeset line width of each paper (a small regression over its interior lines), repairs CJK and
letter spacing, drops page furniture, lifts out abstracts, keywords and footnotes, turns numbered
headings into section paths and re-joins hard-wrapped lines into paragraphs.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.records import Document, DocumentMeta, Paragraph
from assistant.text import (
    CIRCLED,
    LineWidthModel,
    build_vocab,
    clean_line,
    compact,
    is_fully_spaced,
    join_lines,
)

__all__ = ["CorpusError", "clean_document", "find_paragraph", "load_corpus", "neighbours", "read_meta"]


class CorpusError(Exception):
    """A corpus problem; ``str()`` is one line naming the file, the problem and the fix."""


# --- loading -------------------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9][a-z0-9\-]*$")
_META_STR = ("title", "title_en", "short_title", "affiliation", "journal", "issue")


def read_meta(path: Path) -> tuple[DocumentMeta, tuple[str, ...]]:
    """Read one metadata sidecar: the :class:`DocumentMeta` and its ``drop_lines`` cleaning hints."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0]
        raise CorpusError(f"{path}: invalid TOML ({msg}); fix the syntax of the sidecar") from None
    doc_id = data.get("doc_id")
    if not isinstance(doc_id, str) or not _SLUG.match(doc_id):
        raise CorpusError(f"{path}: 'doc_id' must be a lower-case slug such as 'xu-geng-2021'; fix it")
    if not isinstance(data.get("title"), str) or not data["title"].strip():
        raise CorpusError(f"{path}: 'title' is missing; add the paper's title to the sidecar")
    for key in _META_STR:
        if key in data and not isinstance(data[key], str):
            raise CorpusError(f"{path}: '{key}' must be a string")
    authors = data.get("authors", [])
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        raise CorpusError(f"{path}: 'authors' must be a list of strings")
    year = data.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise CorpusError(f"{path}: 'year' must be an integer such as 2021, or left out")
    drop = data.get("drop_lines", [])
    if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
        raise CorpusError(f"{path}: 'drop_lines' must be a list of regular expressions")
    for pattern in drop:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise CorpusError(f"{path}: drop_lines pattern {pattern!r} is not a valid regex: {exc}") from None
    meta = DocumentMeta(
        doc_id=doc_id,
        title=data["title"].strip(),
        title_en=data.get("title_en", ""),
        short_title=data.get("short_title", ""),
        authors=tuple(authors),
        affiliation=data.get("affiliation", ""),
        journal=data.get("journal", ""),
        year=year,
        issue=data.get("issue", ""),
    )
    return meta, tuple(drop)


def _check_inside(path: Path, root: Path) -> None:
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root):
            raise CorpusError(f"{path}: symlink points outside the corpus folder ({target}); copy it in")
        if not target.exists():
            raise CorpusError(f"{path}: broken symlink; replace it with the file itself")


def _read_text(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    if not data.strip():
        raise CorpusError(f"{path}: file is empty; put the extracted text in it or remove it with its .toml")
    if b"\x00" in data:
        raise CorpusError(f"{path}: looks binary (NUL bytes); corpus files must be UTF-8 plain text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not valid UTF-8 (byte {exc.start}); re-save it as UTF-8 (iconv -f GB18030 -t UTF-8)"
        ) from None
    return text.removeprefix("\ufeff"), hashlib.sha256(data).hexdigest()


def load_corpus(corpus_dir: Path) -> tuple[Document, ...]:
    """Load and clean every ``<name>.txt`` + ``<name>.toml`` pair in ``corpus_dir``, sorted by doc_id.

    Raises :class:`CorpusError` with a one-line message for a missing or empty folder, an empty,
    binary or non-UTF-8 text, a missing or invalid sidecar, a duplicate doc_id or a symlink that
    leaves the folder.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir}: corpus folder not found; create it or set ASSISTANT_CORPUS")
    root = corpus_dir.resolve()
    texts = sorted(corpus_dir.glob("*.txt"))
    if not texts:
        raise CorpusError(f"{corpus_dir}: no documents (*.txt with a .toml sidecar) in the corpus folder")
    for toml_path in sorted(corpus_dir.glob("*.toml")):
        if not toml_path.with_suffix(".txt").exists():
            raise CorpusError(f"{toml_path}: sidecar without a text; add {toml_path.stem}.txt or remove it")
    docs: dict[str, Document] = {}
    for txt in texts:
        _check_inside(txt, root)
        side = txt.with_suffix(".toml")
        if not side.exists():
            raise CorpusError(f"{txt}: metadata sidecar {side.name} is missing; create it (doc_id, title...)")
        _check_inside(side, root)
        meta, drop = read_meta(side)
        raw, digest = _read_text(txt)
        if meta.doc_id in docs:
            raise CorpusError(
                f"{side}: duplicate doc_id {meta.doc_id!r} (another sidecar uses it); rename one"
            )
        paragraphs = clean_document(raw, meta, drop)
        if not any(p.kind == "body" for p in paragraphs):
            raise CorpusError(f"{txt}: no body text found after cleaning; is this the right file?")
        docs[meta.doc_id] = Document(meta, digest, paragraphs)
    return tuple(docs[k] for k in sorted(docs))


def find_paragraph(docs: Iterable[Document], ref: str) -> Paragraph | None:
    """The unit with reference ``ref`` (e.g. ``xu-geng-2021:p3``), or None."""
    doc_id = ref.split(":", 1)[0]
    for doc in docs:
        if doc.doc_id == doc_id:
            return next((p for p in doc.paragraphs if p.ref == ref), None)
    return None


def neighbours(doc: Document, ref: str, k: int = 1) -> tuple[Paragraph, ...]:
    """Up to ``k`` body paragraphs on each side of body paragraph ``ref``, itself included, in order."""
    body = [p for p in doc.paragraphs if p.kind == "body"]
    idx = next((i for i, p in enumerate(body) if p.ref == ref), None)
    if idx is None:
        return ()
    return tuple(body[max(0, idx - k) : idx + k + 1])


# --- cleaning: line records ----------------------------------------------------------------------


@dataclass
class _Line:
    no: int  # 1-based line number in the raw text
    raw: str  # the raw line, stripped
    text: str  # repaired text
    page_start: bool  # the extractor indented it: first line of a page or column
    gap: int  # blank lines before it
    spaced: bool  # letter-spaced by justification, so never the last line of a paragraph
    role: str = "text"
    group: int = -1  # id of the abstract/footnote/heading block the line belongs to


_MARKER_ONLY = re.compile(r"^(?:\[\d+(?:[,，\-–]\s*\d+)*\]|[" + CIRCLED + r"])+$")
# Closing punctuation never starts a typeset Chinese line, so a line starting with it is a fragment
# the extractor split off (typically after a superscript reference marker).
_LEADING_CLOSER = re.compile(r"^[。，、；：？！）》」』”’.,;:]")
_TERMINAL = re.compile(r"[。！？；：…!?.:;][”’」』）)》]*$")
_TRAILING_MARKS = re.compile(r"(?:\[\d+(?:[,，\-–]\s*\d+)*\]|[" + CIRCLED + r"])+$")


def _ends_sentence(text: str) -> bool:
    return bool(_TERMINAL.search(_TRAILING_MARKS.sub("", text)))


def _read_lines(raw: str) -> list[_Line]:
    raw_lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    vocab = build_vocab(raw_lines)
    lines: list[_Line] = []
    gap = 0
    for no, r in enumerate(raw_lines, 1):
        if not r.strip():
            gap += 1
            continue
        text = clean_line(r, vocab)
        ln = _Line(no, r.strip(), text, r[:1].isspace(), gap, is_fully_spaced(r.strip()))
        gap = 0
        # A superscript marker ("[1]") and the punctuation after it come out as separate lines
        # although they sit on the same visual line: glue them back.
        if lines and (_MARKER_ONLY.match(text) or _LEADING_CLOSER.match(text)):
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


def _mark_furniture(lines: list[_Line], meta: DocumentMeta, drop: Sequence[str], full: int) -> None:
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
        hit = hit or (counts[c] >= 2 and short and not _ends_sentence(c))
        # an affiliation: a parenthesised line with a six-digit postal code
        hit = hit or bool(short and re.match(r"^[（(].*\d{6}.*[）)]$", c))
        # table-of-contents banners of other articles: several "name：title" pairs, no sentence
        names = len(re.findall(r"[\u4e00-\u9fff][:：]", c))
        hit = hit or (names >= 2 and "。" not in c and not c.endswith("："))
        if hit:
            ln.role = "drop"


# --- cleaning: abstracts, keywords, footnotes, notes ---------------------------------------------

_LABELS = [
    ("abstract", re.compile(r"^摘\s*要\s*[:：]\s*")),
    ("keywords", re.compile(r"^关\s*键\s*词\s*[:：]\s*")),
    ("abstract-en", re.compile(r"^(?:Abstract|ABSTRACT)\s*[:：]\s*")),
    ("keywords-en", re.compile(r"^(?:Key\s*words|KEY\s*WORDS|Keywords)\s*[:：]\s*", re.I)),
]
_CJK = re.compile(r"[\u4e00-\u9fff]")
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


def _mark_blocks(lines: list[_Line]) -> None:
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
        elif _FOOTNOTE_START.match(ln.text) and (mode == "notes" or _looks_like_page_footnote(lines, i)):
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
            if not in_notes:
                # A page-bottom block ends at the next page, or at a blank line once it is complete.
                if nxt.page_start or (nxt.gap and _ends_sentence(lines[j - 1].text)):
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


def _looks_like_page_footnote(lines: list[_Line], i: int) -> bool:
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
    ("n", re.compile(r"^(\d{1,2})\s+(?=[\u4e00-\u9fff《“])(\S.*)$"), 1),
    ("cn", re.compile(r"^([一二三四五六七八九十]{1,3})\s*、\s*(\S.*)$"), 1),
    ("cn()", re.compile(r"^[（(]\s*([一二三四五六七八九十]{1,3})\s*[）)]\s*(\S.*)$"), 2),
]


def _heading_parse(ln: _Line) -> tuple[str, int, str, bool] | None:
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


def _heading_match(ln: _Line) -> tuple[str, int] | None:
    parsed = _heading_parse(ln)
    return (parsed[0], parsed[1]) if parsed and not parsed[3] else None


def _mark_headings(lines: list[_Line], model: LineWidthModel) -> None:
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
        if ln.role != "text" or not parsed or parsed[3]:
            continue
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


# --- cleaning: paragraphs ------------------------------------------------------------------------


class _Widths:
    """Line widths against the local full measure (pages of one paper differ by an em or so)."""

    def __init__(self, lines: list[_Line], model: LineWidthModel) -> None:
        self.model = model
        self.w = {ln.no: model.width(ln.text) for ln in lines}
        interior = [
            ln.no
            for a, ln in itertools.pairwise(lines)
            if ln.role == a.role == "text"
            and not ln.spaced
            and not _ends_sentence(ln.text)
            and not _ends_sentence(a.text)
            and abs(self.w[ln.no] - model.full) < 2.0
        ]
        self.interior = interior
        # First-line indent: how much narrower the first line after a heading is (about 2 em).
        firsts = [
            self.gap(b)
            for a, b in itertools.pairwise(lines)
            if a.role == "heading" and b.role == "text" and not b.spaced and not _ends_sentence(b.text)
        ]
        firsts = sorted(g for g in firsts if 0.5 < g < 5)
        self.indent = firsts[len(firsts) // 2] if len(firsts) >= 3 else 2.0

    def full_at(self, no: int) -> float:
        near = sorted((abs(n - no), n) for n in self.interior)[:8]
        vals = sorted(self.w[n] for _, n in near)
        if len(vals) < 3:
            return self.model.full
        return vals[len(vals) // 2]

    def gap(self, ln: _Line) -> float:
        return self.full_at(ln.no) - self.w[ln.no]


def _breaks(a: _Line, b: _Line, widths: _Widths, a_first: bool) -> bool:
    """Does a paragraph end between consecutive body lines ``a`` and ``b``?

    ``a_first`` says ``a`` opens its paragraph, so it is indented and its full width is smaller.
    """
    if not _ends_sentence(a.text) or a.spaced:
        # no sentence end, or a justified (letter-spaced) line, which is never a paragraph's last
        return False
    if widths.gap(a) - (widths.indent if a_first else 0.0) >= 1.2:
        return True  # a short line after a sentence end: the paragraph's last line
    if b.spaced:
        return False
    gb = widths.gap(b)
    # ``a`` is full; a new paragraph shows in ``b``'s first-line indent
    lo, hi = widths.indent * 0.6, widths.indent + 1.5
    return lo <= gb <= hi and not (_ends_sentence(b.text) and gb > widths.indent + 1.0)


def _body_paragraphs(lines: list[_Line], widths: _Widths) -> list[tuple[tuple[str, ...], list[_Line]]]:
    paras: list[tuple[tuple[str, ...], list[_Line]]] = []
    stack: list[tuple[int, str]] = []
    current: list[_Line] = []
    section: tuple[str, ...] = ("引言",)
    heading_lines: list[_Line] = []

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
            match = _heading_match(first)
            rank = match[1] if match else 9
            text = "".join(h.text for h in heading_lines)
            label = re.sub(r"^[\d.．\s]+", "", text) if match and match[0][0].isdigit() else text
            label = (match[0] + label) if match and match[0][0].isdigit() else label
            heading_lines = []
            while stack and stack[-1][0] >= rank:
                stack.pop()
            stack.append((rank, label.strip()))
            section = tuple(s for _, s in stack)
            continue
        if current and _breaks(current[-1], ln, widths, len(current) == 1):
            flush()
        current.append(ln)
    flush()
    return paras


def _join(lines: Iterable[_Line]) -> str:
    text = ""
    for ln in lines:
        text = join_lines(text, ln.text)
    return text.strip()


def _link_footnotes(lines: list[_Line], body_of: dict[int, int], fn_groups: list[int]) -> dict[int, int]:
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


def clean_document(raw: str, meta: DocumentMeta, drop_lines: Sequence[str] = ()) -> tuple[Paragraph, ...]:
    """Turn one PDF-extracted text into units: abstracts, keywords, body paragraphs, footnotes, references.

    Pure and deterministic: the same text and metadata always give the same units and refs.
    """
    doc = meta.doc_id
    lines = _read_lines(raw)
    if not lines:
        return ()
    rough = LineWidthModel.fit([ln.text for ln in lines if not _ends_sentence(ln.text)])
    _mark_furniture(lines, meta, drop_lines, int(rough.full * 2))
    _mark_blocks(lines)
    text_lines = [ln for ln in lines if ln.role == "text"]
    full_lines = [
        b.text
        for a, b in itertools.pairwise(text_lines)
        if not b.spaced and not _ends_sentence(a.text) and not _ends_sentence(b.text)
    ]
    model = LineWidthModel.fit(full_lines)
    _mark_headings(lines, model)
    widths = _Widths([ln for ln in lines if ln.role in ("text", "heading")], model)
    paras = _body_paragraphs(lines, widths)

    body_of = {ln.no: i for i, (_, group) in enumerate(paras) for ln in group}
    groups: dict[int, list[_Line]] = {}
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
    notes: list[Paragraph] = []
    n_ref = 0
    for g, ls in groups.items():
        role = ls[0].role
        text = _join(ls)
        if role in _FRONT:
            front.setdefault(role, []).append(text)
        elif role == "footnote":
            linked = fn_link.get(g)
            section = paras[linked][0] if linked is not None else ("注释",)
            link = (f"{doc}:p{linked + 1}",) if linked is not None else ()
            body = re.sub(rf"^[{CIRCLED}]\s*", "", text)
            notes.append(Paragraph(fn_ref[g], doc, "footnote", 0, section, body, link))
        else:
            n_ref += 1
            notes.append(Paragraph(f"{doc}:ref{n_ref}", doc, "reference", 0, ("参考文献",), text))

    def unit(role: str) -> list[Paragraph]:
        if role not in front:
            return []
        return [Paragraph(f"{doc}:{role}", doc, role, 0, (_FRONT[role],), "".join(front[role]))]  # type: ignore[arg-type]

    out = unit("abstract") + unit("keywords")
    for i, (section, group) in enumerate(paras):
        out.append(
            Paragraph(
                f"{doc}:p{i + 1}", doc, "body", i + 1, section, _join(group), tuple(para_links.get(i, ()))
            )
        )
    out += notes + unit("abstract-en") + unit("keywords-en")
    return tuple(out)
