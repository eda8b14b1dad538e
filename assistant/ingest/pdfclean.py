"""PDF-noise repair primitives: fix one extracted line, and join hard-wrapped lines.

PDF text extraction breaks lines in a few recurring ways: letter-spaced justified lines
("相 互 认 可"), spaces around CJK characters, English words split by spurious single spaces
("va lue") and hard wraps inside sentences. These functions repair a single line (or a pair of
lines) without any knowledge of page layout; :mod:`assistant.ingest.layout` and
:mod:`assistant.ingest.segment` decide which lines belong together.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from assistant.text import WIDE

# A space next to a full-width character is never a real word gap (see ``WIDE``).
_SPACE_NEAR_WIDE = re.compile(f"(?<=[{WIDE}])[ \t\u00a0\u3000]+|[ \t\u00a0\u3000]+(?=[{WIDE}])")


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
