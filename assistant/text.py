"""Text utilities: character classes, language detection, sentence spans and BM25 tokens.

The PDF-noise line repairs live in :mod:`assistant.ingest.pdfclean` and the typeset line-width model in
:mod:`assistant.ingest.linewidth`. Nothing heavy is imported at module level: jieba is loaded on the
first call to :func:`tokenize`, so importing this module stays cheap for the CLI and the tests.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from assistant.records import Lang
from assistant.settings import Settings

# --- character classes -------------------------------------------------------------------------

CJK_IDEO = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Characters that are typeset full-width in Chinese text: ideographs, CJK symbols and punctuation,
# full-width forms and circled numbers. A space next to one of these is never a real word gap.
WIDE = CJK_IDEO + "\u3000-\u303f\uff00-\uffef\u2460-\u2473\u2474-\u249b"
CIRCLED = "\u2460-\u2473"  # ① .. ⑳
# A footnote marker in body text: a bracketed number or list ([3], [1,2], [4-6]) or a circled digit.
MARKER = rf"\[\d+(?:[,，\-–]\s*\d+)*\]|[{CIRCLED}]"
_WIDE_RE = re.compile(f"[{WIDE}]")
_CJK_RE = re.compile(f"[{CJK_IDEO}]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?")
_WS = re.compile(r"\s+")


def compact(text: str) -> str:
    """Return ``text`` with all whitespace removed (for whitespace-insensitive comparisons)."""
    return _WS.sub("", text)


def display_width(text: str) -> int:
    """Width of ``text`` in terminal columns: East Asian wide/full-width characters count 2, others 1.

    Ambiguous-width characters (curly quotes, em dashes) count 1 because the journals' fonts set
    them proportionally, which is what the line-width statistics of the cleaner need.
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text if ch != "\n")


# --- stopwords: the one home of every list of words that carry no content -----------------------

# Question words and connectives that say nothing about the topic; BM25's idf
# would down-weight most of them anyway, but they add noise on a small corpus.
_BM25_EN = (
    "a an the of to in on at by for from with and or as is are was were be been being it its this that "
    "these those there their they them he she his her we our you your i do does did doing done what "
    "which who whom whose when where why how according paper article author authors say says said mean "
    "means meaning describe describes discuss discussed explain explains give gives name named list "
    "any some than then also about into other such can could would should may might must will text "
    "study write writes wrote argue argues view"
)
_BM25_ZH = (
    "什么 哪些 哪个 如何 怎么 怎样 为什么 是 的 了 吗 呢 吧 文中 本文 文章 作者 认为 "
    "提出 指出 有 哪 在 和 与 及 对 中 其 该 这 那 请问 一下 是否 多少 几"
)
BM25_STOPWORDS = frozenset(_BM25_EN.split() + _BM25_ZH.split())
# Words an English question shares with any sentence; they never say which sentence answers it
# (quote selection and the evidence support compare the rest).
QUESTION_STOPWORDS = frozenset(
    (
        "the a an of to in on and or for is are was were be by with what which who how why does do did "
        "this that these those from as at it its their according paper papers author authors"
    ).split()
)
# English words of a gloss that carry no content (articles, prepositions, modal verbs); the glossary
# counts content words without them and rejects phrases that start or end on a preposition
# ("based on" is not a term).
PREPOSITIONS = frozenset("of for in on at to by with from into as".split())
GLOSS_STOPWORDS = PREPOSITIONS | frozenset("a an the and or may shall should must can will".split())


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


# Function words of the Latin-script languages a trade-law reader is likely to try instead of English.
# Only words that are not also English function words (the lists above are subtracted below), and
# no all-caps forms (UN, CE, MIT are acronyms), so an English question naming "de facto", "per se"
# or "Côte d'Ivoire" keeps far more English evidence than foreign. Measured on the table in
# tests/test_question_lang.py: every English, Chinese and mixed question accepted, 46 of 50 French,
# Spanish, German, Portuguese and Italian ones refused (the misses are two- or three-word questions).
_FOREIGN_FUNCTION_WORDS = {
    "French": (
        "le les la de des du est et une que qui quel quels quelle quelles pourquoi quand où sont dans sur "
        "avec au aux ces cette il elle ont être dit selon leur leurs mais explique signifie qu l d c n s j"
    ),
    "Spanish": (
        "el los las la de es que qué cuál cuáles cuándo cómo dónde por porque del al una son con se su sus "
        "según sobre quién quiénes lo y explica significa dice"
    ),
    "German": (
        "der die das ist und nicht wie wer wann warum welche welcher welches welchen sind ein eine einen "
        "im über für mit dem den des zu zum zur auf bei nach vom sich oder wird werden haben bedeutet "
        "gibt heißt sagt"
    ),
    "Portuguese": (
        "o os de da dos das é são que qual quais quando como por porque em na nas nos um uma com se "
        "sobre quem onde ao aos à pelo pela não seu sua mais diz explique significa"
    ),
    "Italian": (
        "il lo la gli le di del della dei delle degli nel nella nell dell all che chi cosa cos quale quali "
        "quando perché dove è sono un una uno con su tra fra ed dice significa l d"
    ),
}
_ENGLISH_WORDS = frozenset(_BM25_EN.split()) | QUESTION_STOPWORDS
FOREIGN_FUNCTION_WORDS = {
    lang: frozenset(words.split()) - _ENGLISH_WORDS for lang, words in _FOREIGN_FUNCTION_WORDS.items()
}
# Letters and marks English never uses, weighed half a word each: alone they are names (Cancún,
# Azevêdo), next to function words they tell Portuguese (nação) from Spanish (nación).
_FOREIGN_MARKS = {"French": "œêûëï", "Spanish": "ñ¿¡", "German": "äöüß", "Portuguese": "ãõ", "Italian": "ìò"}
_ELIDED_WORD = re.compile(r"([A-Za-z\u00c0-\u024f]+)(?:['’]([A-Za-z\u00c0-\u024f]+))?")
_ENGLISH_CLITICS = frozenset("s t re ve ll d m".split())  # WTO's, don't, they're...


def latin_language(text: str) -> str | None:
    """Name the Latin-script language other than English that ``text`` is written in, else None.

    Counts function words: a foreign language needs at least two (marks count half) and more than
    the English function words, so a short or mixed English question ("What is MFN?", "Is there a
    per se rule?") is never taken for another language: refusing an English question costs far
    more than answering the rare French one. Elisions are split (l'OMC, qu'est, dell'OMC) because
    the article is the evidence; English clitics (WTO's, don't) are not.
    """
    words: list[str] = []
    for m in _ELIDED_WORD.finditer(text):
        head, tail = m.group(1), m.group(2)
        words += [head] if tail is None or tail.lower() in _ENGLISH_CLITICS else [head, tail]
    lowered = [w.lower() for w in words if not (len(w) > 1 and w.isupper())]
    english = sum(w in _ENGLISH_WORDS for w in lowered)
    folded = text.lower()
    best, best_score = None, 0.0
    for lang, vocabulary in FOREIGN_FUNCTION_WORDS.items():
        score = sum(w in vocabulary for w in lowered) + 0.5 * sum(ch in _FOREIGN_MARKS[lang] for ch in folded)
        if score > best_score:
            best, best_score = lang, score
    return best if best_score >= 2 and best_score > english else None


# --- sentences -----------------------------------------------------------------------------------

_ZH_END = "。！？；…!?"
_CLOSERS = "”’」』）)》〉】\"'"
_MARKER_RE = re.compile(rf"\s*(?:{MARKER})")
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
def jieba_cache_dir() -> str:
    """The user's own folder for jieba's dictionary cache (``<cache>/jieba``, mode 0700).

    jieba's default is the shared temp folder, where another local user could plant a cache file
    that it then loads with ``marshal`` and that changes this user's BM25 tokens and scores.
    """
    path = Settings.from_env().cache_dir / "jieba"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(path)


@lru_cache(maxsize=1)
def _jieba() -> Any:
    """Import jieba once, with its start-up chatter silenced and its cache in the user's folder."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    jieba.dt.tmp_dir = jieba_cache_dir()
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
    seg.tmp_dir = jieba.dt.tmp_dir
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
