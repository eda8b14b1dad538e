"""Text utilities: language detection, sentence spans, BM25 tokens and PDF-noise repair primitives.

Nothing heavy is imported at module level: jieba is loaded on the first call to
:func:`tokenize`, so importing this module stays cheap for the CLI and the tests.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Literal

# --- character classes -------------------------------------------------------------------------

CJK_IDEO = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Characters that are typeset full-width in Chinese text: ideographs, CJK symbols and punctuation,
# full-width forms and circled numbers. A space next to one of these is never a real word gap.
WIDE = CJK_IDEO + "\u3000-\u303f\uff00-\uffef\u2460-\u2473\u2474-\u249b"
CIRCLED = "\u2460-\u2473"  # ① .. ⑳
_WIDE_RE = re.compile(f"[{WIDE}]")
_SPACE_NEAR_WIDE = re.compile(f"(?<=[{WIDE}])[ \t\u00a0\u3000]+|[ \t\u00a0\u3000]+(?=[{WIDE}])")
_CJK_RE = re.compile(f"[{CJK_IDEO}]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?")
_WS = re.compile(r"\s+")

Lang = Literal["zh", "en"]


def compact(text: str) -> str:
    """Return ``text`` with all whitespace removed (for whitespace-insensitive comparisons)."""
    return _WS.sub("", text)


def display_width(text: str) -> int:
    """Width of ``text`` in terminal columns: East Asian wide/full-width characters count 2, others 1.

    Ambiguous-width characters (curly quotes, em dashes) count 1 because the journals' fonts set
    them proportionally, which is what the line-width statistics of the cleaner need.
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text if ch != "\n")


# --- language detection --------------------------------------------------------------------------


def detect_lang(text: str) -> Lang | None:
    """Guess whether ``text`` is Chinese or English by the majority script.

    CJK ideographs are weighed against Latin words: about 2.5 ideographs make one "word", and an
    all-caps word (an acronym such as WTO, often embedded in Chinese) counts half. So
    "What does 负向一体化 mean?" is en and "WTO的TBT协定是什么" is zh. Returns None when the text has
    neither (digits, emoji) or is mostly another script (Cyrillic, Arabic...).
    """
    n_cjk = len(_CJK_RE.findall(text))
    words = [w for w in _LATIN_WORD.findall(text) if w.isascii()]
    en_units = sum(0.5 if (len(w) > 1 and w.isupper()) else 1.0 for w in words)
    latin_letters = sum(len(w) for w in words)
    other_letters = sum(
        1
        for ch in text
        if ch.isalpha() and not ch.isascii() and not _CJK_RE.match(ch) and not _WIDE_RE.match(ch)
    )
    if n_cjk == 0 and latin_letters < 2:
        return None
    if other_letters > n_cjk + latin_letters:
        return None
    zh_units = n_cjk / 2.5
    return "zh" if zh_units > en_units else "en"


# --- sentences -----------------------------------------------------------------------------------

_ZH_END = "。！？；…!?"
_CLOSERS = "”’」』）)》〉】\"'"
_MARKER_RE = re.compile(rf"\s*(?:\[\d+(?:[,，\-–]\s*\d+)*\]|[{CIRCLED}])")
# Abbreviations whose trailing period never ends an English sentence.
_ABBREV = {
    "e.g",
    "i.e",
    "u.s",
    "u.k",
    "no",
    "nos",
    "art",
    "arts",
    "vol",
    "vols",
    "p",
    "pp",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "vs",
    "cf",
    "al",
    "fig",
    "ch",
    "sec",
    "para",
    "eds",
    "ed",
    "inc",
    "ltd",
    "co",
    "jr",
    "st",
}


def _is_abbrev_period(text: str, i: int) -> bool:
    """True when the '.' at ``text[i]`` belongs to an abbreviation, initial or number, not a sentence end."""
    j = i
    while j > 0 and (text[j - 1].isalpha() or text[j - 1] == "."):
        j -= 1
    word = text[j:i].lower()
    if word in _ABBREV:
        return True
    # A single capital letter is an initial ("Robert Z. Lawrence") or part of "U.S.".
    return len(word.replace(".", "")) == 1 and text[i - 1].isupper()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split ``text`` into sentence spans ``(start, end)``, whitespace-trimmed.

    Chinese sentences end at 。！？；… (plus following closing quotes/brackets); English ones at
    . ! ? followed by whitespace or the end, except abbreviations ("U.S.", "e.g.", "No. 5"),
    initials and decimals, or when the next word starts in lower case. Reference markers such as
    [12] and circled footnote markers ① that follow a sentence end stay with that sentence.
    Every non-whitespace character belongs to exactly one span.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    i = 0
    while i < n:
        ch = text[i]
        cut = -1
        if ch in _ZH_END or ch == "." or ch == "．":
            j = i + 1
            while j < n and text[j] in _ZH_END + ".":  # runs such as "……" or "?!"
                j += 1
            while j < n and text[j] in _CLOSERS:
                j += 1
            if ch in "。！？；…!?" or ch == "．":
                cut = j
            elif ch == "." and (j >= n or text[j].isspace()) and not _is_abbrev_period(text, i):
                k = j
                while k < n and text[k].isspace():
                    k += 1
                if k >= n or not text[k].islower():
                    cut = j
            if cut >= 0:
                m = _MARKER_RE.match(text, cut)
                while m:
                    cut = m.end()
                    m = _MARKER_RE.match(text, cut)
                    # Markers only stick to the sentence they follow; a marker that is followed by
                    # more terminal punctuation ("[12]。") is already covered by the loop above.
                while cut < n and text[cut] in _ZH_END:
                    cut += 1
        if cut >= 0:
            _add_span(text, start, cut, spans)
            start = cut
            i = cut
        else:
            i += 1
    _add_span(text, start, n, spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


# --- tokens --------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(rf"[{CJK_IDEO}]+|[A-Za-z0-9\u00c0-\u024f]+(?:[.'’][A-Za-z0-9]+)*")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    """Import jieba once, with its start-up chatter silenced."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def make_segmenter(extra_words: Iterable[str] = ()) -> Any:
    """A private jieba tokenizer that also knows ``extra_words`` (e.g. glossary terms).

    A separate instance, so adding domain words never changes how other code
    (such as glossary mining) segments text in the same process. Cached per word
    set, since loading jieba's dictionary costs most of a second.
    """
    return _segmenter(tuple(sorted(set(extra_words))))


@lru_cache(maxsize=8)
def _segmenter(words: tuple[str, ...]) -> Any:
    jieba = _jieba()
    seg = jieba.Tokenizer()
    seg.initialize()
    for word in words:
        if 2 <= len(word) <= 16 and _CJK_RE.match(word):
            seg.add_word(word, freq=20000)
    return seg


def tokenize(text: str, segmenter: Any = None) -> list[str]:
    """Lexical tokens for BM25: jieba search-mode words for CJK runs, lower-cased Latin words and numbers.

    Punctuation and whitespace are dropped; the result is deterministic for a given text
    and segmenter (default: jieba's own dictionary, see :func:`make_segmenter`).
    """
    text = unicodedata.normalize("NFKC", text)
    seg = segmenter or _jieba()
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        if _CJK_RE.match(tok):
            out.extend(w for w in seg.cut_for_search(tok) if w.strip())
        else:
            out.append(tok.lower())
    return out


# --- PDF-noise repair primitives -----------------------------------------------------------------


def remove_wide_spaces(line: str) -> str:
    """Drop spaces next to CJK characters or CJK punctuation ("税 减 让" -> "税减让", "2023 年" -> "2023年")."""  # noqa: E501
    return _SPACE_NEAR_WIDE.sub("", line)


def is_fully_spaced(line: str) -> bool:
    """True when the extractor put a space after (nearly) every character of the line.

    Justified lines with wide tracking come out as "相 互 认 可 （ m u t u a l  r e c o g ...":
    single spaces inside words, two spaces between words.
    """
    chars = len(line.replace(" ", ""))
    if chars < 8:
        return False
    return len(re.findall(r"\S (?=\S)", line)) >= 0.5 * chars


def collapse_spaced(line: str) -> str:
    """Undo full letter-spacing: single spaces vanish, runs of two or more become one word gap."""
    return re.sub(r" {2,}", " ", re.sub(r"(?<=\S) (?=\S)", "", line))


# Common English words used, together with the words a document spells unbroken elsewhere, to
# decide whether fragments of a letter-spaced word join ("va lue" -> "value"). General-purpose
# vocabulary plus words frequent in law/economics writing; inflections are handled by _known().
_BUILTIN_WORDS = """
a about above across act action actions after against agreement all also among an analysis and any
apply approach are area as assessment association at available based be been before behind being
between board border both business but by can case central certain chamber change china chapter
circumstances citizen close closer coherence commerce commission committee common community company
competition concern condition congress consider consideration content control cooperation cost could
council country court cover current data deal deep degree develop development different digital
direct divergence domestic due during each economic economy effect effective either element end
enforce environment equal equivalence estimate even evaluation every evidence example expand export
fact fair far federal final financial first follow for foreign form forum framework free from full
fund future general global good government group growth have health high however impact import
important in include increase industry information institute institution integrate integration
interest internal international interoperable interoperability into investment is issue it its
joint just justice key know labor labour law least legal less level like limit local long low main
make many market may measure member more most much must mutual nation national natural need negative
negotiate new no non not note now number of office official on one only open or order organic
organization other our out over own paper part participate particular partnership party pay people
per period place plan platform plurilateral point policy political position positive possible
potential power practice present president prevent price principle private problem procedure process
produce product production program promote protection protectionism provide public purpose quality
rate reason recognition recognize reduce reform region regional regulate regulation regulatory
relate relation report require research resource result review right risk role rule same science
sector security service shallow shall should single social some sovereignty special standard
standardization state step strategy structure study such support system take tariff tax technical
technology term than that the their them there these they this through time to trade transfer
transparency treatment treaty trend under union united up upon use value very was we were what when
where which while who will with within without work world would year
"""
BUILTIN_WORDS: frozenset[str] = frozenset(_BUILTIN_WORDS.split())
# Word endings that never stand alone; a fragment like "ion" or "ional" belongs to the previous one.
_SUFFIXES = frozenset(
    "ion ions tion tions ional ive ives ity ty ic ics al ally ly ment ments ness ance ancy ence ency ed "
    "ing ings er ers or ors ous able ible ism ist ists ize ise ate ated ates".split()
)
_INFLECTIONS = ("s", "es", "ed", "d", "ing", "ly", "al", "ally", "ional", "ion", "ions", "er", "ers", "ity")
_NARROW = set("iltrfjI")  # glyphs whose width PDF extractors misjudge, so spurious gaps sit next to them


def build_vocab(texts: Iterable[str]) -> frozenset[str]:
    """Words (lower-case, 3+ letters) that a text spells in ordinary running English.

    Only runs of five or more space-separated words without stray one-letter fragments count, so
    letter-spaced debris ("va lue", "Recogni t ion") never enters the vocabulary.
    """
    vocab: set[str] = set()
    run_re = re.compile(r"[A-Za-z][A-Za-z'\-]*(?: [A-Za-z][A-Za-z'\-]*){4,}")
    for text in texts:
        for run in run_re.findall(text):
            words = run.split(" ")
            if any((len(w) == 1 and w not in ("a", "A", "I")) or w.lower() in _SUFFIXES for w in words):
                continue
            vocab.update(w.lower() for w in re.findall(r"[A-Za-z]{3,}", run))
    return frozenset(vocab)


def _known(word: str, vocab: frozenset[str]) -> bool:
    w = word.lower().strip("-.")
    if not w:
        return False
    if "-" in w:
        return all(_known(p, vocab) for p in w.split("-") if p)
    if w in vocab or w in BUILTIN_WORDS:
        return True
    for suf in _INFLECTIONS:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            stem = w[: -len(suf)]
            if stem in vocab or stem in BUILTIN_WORDS or stem + "e" in vocab or stem + "e" in BUILTIN_WORDS:
                return True
    return False


def _segment_cost(tokens: list[str], vocab: frozenset[str]) -> float | None:
    """Cost of reading ``tokens`` (already known to be space-separated fragments) as one word."""
    word = "".join(tokens)
    lone_letter = any(len(t) == 1 and t.islower() and t != "a" for t in tokens)
    if len(tokens) == 1:
        if _known(word, vocab):
            return 0.0
        if lone_letter:
            # Upper-case letters stand alone as initials ("Robert Z.", "U.S."); lower-case ones don't.
            return 0.5 if word.isupper() else 3.0
        return 2.0 if word.lower() in _SUFFIXES else 0.5
    if _known(word, vocab):
        return 0.0
    # A tail that is a pure suffix ("Recogni|t ion", "interoperabil|i ty") joins a 3+ letter stem.
    for k in range(1, len(tokens)):
        if "".join(tokens[k:]).lower() in _SUFFIXES and k == 1 and len(tokens[0]) >= 3:
            return 0.25  # a little dearer than a dictionary word, so "in|tegra t ion" prefers "integration"
    if not lone_letter:
        return None
    # A stray letter must go somewhere; swallowing it inside one word ("Messer l in") beats leaving
    # a new fragment ("Messerl in").
    interior = sum(1 for t in tokens[1:-1] if len(t) == 1 and t.islower())
    return 1.0 - 0.1 * interior


def repair_letter_spacing(line: str, vocab: frozenset[str] = frozenset()) -> str:
    """Rejoin English words that PDF extraction broke with spurious single spaces.

    A run of Latin fragments separated by single spaces is re-segmented by a small dynamic
    programme: a fragment that is not a word on its own joins its neighbours when the joined form
    is a known word (``vocab`` plus a built-in list, with inflections), or a stem plus a suffix
    fragment ("Congress ional"). Gaps of two or more spaces are real word gaps and never joined,
    and a join is only considered across a gap that touches a narrow glyph (i, l, t, r, f, j),
    where extractors misplace spaces. Real words stay apart: "the global" is never glued.
    """

    def fix_group(group: str) -> str:
        toks = group.split(" ")
        n = len(toks)
        if n < 2:
            return group
        best: list[tuple[float, int, int]] = [(0.0, 0, 0)] + [(float("inf"), 0, 0)] * n
        for j in range(1, n + 1):
            for i in range(j - 1, -1, -1):
                if i < j - 1:
                    a, b = toks[i], toks[i + 1]
                    if not (a[-1:] in _NARROW or b[:1] in _NARROW):
                        break
                    if not (a[-1:].isalpha() and b[:1].isalpha()):
                        break
                cost = _segment_cost(toks[i:j], vocab)
                if cost is None:
                    continue
                # Ties go to the reading with more words: joining must earn its place.
                cand = (best[i][0] + cost, best[i][1] - 1, i)
                if cand[:2] < best[j][:2]:
                    best[j] = cand
        words: list[str] = []
        j = n
        while j > 0:
            i = best[j][2]
            words.append("".join(toks[i:j]))
            j = i
        return " ".join(reversed(words))

    def fix_run(m: re.Match[str]) -> str:
        parts = re.split(r"( {2,})", m.group())
        return "".join(p if p.startswith(" ") else fix_group(p) for p in parts)

    # A trailing period stays on its token, so "v." or "Z." never counts as a stray letter.
    return re.sub(r"[A-Za-z][A-Za-z\-]*\.?(?: +[A-Za-z][A-Za-z\-]*\.?)+", fix_run, line)


def clean_line(line: str, vocab: frozenset[str] = frozenset()) -> str:
    """Repair one extracted line: NFC, full letter-spacing, spaces around CJK, broken English words."""
    line = unicodedata.normalize("NFC", line).replace("\u00a0", " ").replace("\t", " ").strip()
    if is_fully_spaced(line):
        line = collapse_spaced(line)
    line = remove_wide_spaces(line)
    line = repair_letter_spacing(line, vocab)
    return re.sub(r" {2,}", " ", line)


def join_lines(left: str, right: str) -> str:
    """Join two wrapped lines: a space only between two Latin/digit sides ("services" + "from")."""
    if not left:
        return right
    if not right:
        return left
    a, b = left[-1], right[0]
    if (a.isascii() and (a.isalnum() or a in ".,;:)%”\"'")) and (b.isascii() and (b.isalnum() or b in '("“')):
        return f"{left} {right}"
    return left + right


# --- typeset line width --------------------------------------------------------------------------

_WIDTH_KEYS = ("punct", "amb", "upper", "lower", "digit", "other")
# Typical widths in em (one ideograph = 1 em); the per-document fit pulls towards these.
_WIDTH_PRIOR = (1.0, 1.0, 0.7, 0.5, 0.55, 0.3)
_SUPERSCRIPTS = re.compile(rf"\[\d+(?:[,，\-–]\s*\d+)*\]|[{CIRCLED}]")


def width_features(text: str) -> tuple[int, tuple[int, ...]]:
    """Count a line's glyph classes: (ideographs, (CJK punct, ambiguous, upper, lower, digit, other)).

    Superscript reference and footnote markers are left out: they take almost no room on the line.
    """
    text = _SUPERSCRIPTS.sub("", text)
    ideo = 0
    counts = [0] * 6
    for ch in text:
        eaw = unicodedata.east_asian_width(ch)
        if eaw in "WF":
            if ch.isalnum():
                ideo += 1
            else:
                counts[0] += 1
        elif eaw == "A":
            counts[1] += 1
        elif ch.isupper():
            counts[2] += 1
        elif ch.islower():
            counts[3] += 1
        elif ch.isdigit():
            counts[4] += 1
        else:
            counts[5] += 1
    return ideo, tuple(counts)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a small dense linear system by Gauss-Jordan elimination with partial pivoting."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-12:
            continue
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c], strict=True)]
    return [m[i][n] / m[i][i] if abs(m[i][i]) > 1e-12 else 0.0 for i in range(n)]


class LineWidthModel:
    """Per-document estimate of how wide (in em) a line is as typeset, and of the full line width.

    Fitted on lines that must be full (they neither end nor follow a sentence end): the number of
    ideographs on such a line plus the weighted count of other glyphs is the measure ``full``. The
    glyph weights are fitted by ridge regression towards typical values, because fonts differ
    (one journal sets curly quotes full-width, another half-width; some compress punctuation).
    """

    def __init__(self, full: float, weights: Sequence[float]) -> None:
        self.full = full
        self.weights = tuple(weights)

    def width(self, text: str) -> float:
        """Estimated typeset width of ``text`` in em."""
        ideo, counts = width_features(text)
        return ideo + sum(w * c for w, c in zip(self.weights, counts, strict=True))

    @classmethod
    def fit(cls, full_lines: Sequence[str], ridge: float = 8.0) -> LineWidthModel:
        """Fit on lines believed to be full; outliers (lines that were short after all) are dropped."""
        rows = [width_features(t) for t in full_lines]
        rows = [r for r in rows if r[0] >= 8]
        if len(rows) < 5:
            # Too little text to measure (a snippet): assume a common Chinese journal measure.
            widths = [r[0] + sum(w * c for w, c in zip(_WIDTH_PRIOR, r[1], strict=True)) for r in rows]
            return cls(max([40.0, *widths]), _WIDTH_PRIOR)
        coef = [0.0, *_WIDTH_PRIOR]
        keep = rows
        for _ in range(4):
            # y = full - sum(w_k x_k)  ->  unknowns (full, w_1..w_6) with design row (1, -x_1..-x_6)
            n = 7
            ata = [[0.0] * n for _ in range(n)]
            atb = [0.0] * n
            for ideo, counts in keep:
                x = [1.0, *(-c for c in counts)]
                for i in range(n):
                    atb[i] += x[i] * ideo
                    for j in range(n):
                        ata[i][j] += x[i] * x[j]
            for k in range(1, n):
                ata[k][k] += ridge
                atb[k] += ridge * _WIDTH_PRIOR[k - 1]
            coef = _solve(ata, atb)
            model = cls(coef[0], coef[1:])
            keep = [r for r in rows if abs(model.full - model.width_of(r)) < 1.5]
            if len(keep) < 5:
                break
        return cls(coef[0], coef[1:])

    def width_of(self, feats: tuple[int, tuple[int, ...]]) -> float:
        """Width from precomputed :func:`width_features`."""
        return feats[0] + sum(w * c for w, c in zip(self.weights, feats[1], strict=True))
