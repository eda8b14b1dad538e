"""A bilingual term glossary mined from the corpus, plus an optional user file.

The papers gloss their terms inline as 中文术语（English term）, 全称（ABBR）, 中文（English，ABBR） or
中文（English，下称ABBR）. :meth:`Glossary.mine` collects these pairs so an English question can be
expanded with the Chinese terms the lexical index knows (:meth:`Glossary.expand_english`) and a
Chinese question can be glossed in English (:meth:`Glossary.gloss_chinese`).

The hard part is where the Chinese term starts, because the ideographs before the parenthesis are
usually a whole clause; see :func:`choose_term` for the rule. jieba is imported lazily, on the
first mining call, so importing this module stays cheap.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.errors import GlossaryError
from assistant.ingest.acronyms import acronym_expansions
from assistant.ingest.gloss_parse import _abbr_ok, _size_units, is_predicate, parse_gloss, read_user_file
from assistant.ingest.glossary_table import format_table, glossary_notes
from assistant.records import Paragraph

# _jieba imports jieba on first use only (shared with the BM25 tokenizer, so it loads once).
from assistant.text import CJK_IDEO, _jieba, compact

__all__ = [
    "Glossary",
    "GlossaryEntry",
    "GlossaryError",
    "abstract_pairs",
    "format_table",
    "glossary_notes",
    "parse_gloss",
]

MAX_ZH = 16  # longer "terms" are clauses or long titles; no useful expansion comes from them
# Characters that, as a one-character jieba word, never start a term (particles, prepositions,
# conjunctions, copulas, determiners, date counters after a number).
FUNCTION_CHARS = frozenset(
    "的了和与及以为是在对即将把被等或而并其该这那着过地得也都就又还从由向于据除时则每此本某各年月日"
)
# Conjunctions also join the parts of one name (关税及贸易总协定, 标准和一致性委员会), so the
# boundary after them is weaker than after other function words.
CONJUNCTIONS = frozenset("和与及或并")
# Multi-character words that open a clause or a description rather than a term.
FUNCTION_WORDS = frozenset(
    "一种 一个 称为 即为 简称 所谓 各国 各方 我国 本国 以及 或者 并且 而且 例如 比如 包括 其中 通过 即所谓 "
    "根据 依据 按照 关于 对于 由于 随着 除了 在于 就是 即是 也是".split()
)

_CJK = re.compile(f"[{CJK_IDEO}]")
_RUN_CHAR = re.compile(f"[{CJK_IDEO}·・]")
_PAREN = re.compile(r"[（(]([^（）()\n]{1,160})[）)]")


@dataclass(frozen=True)
class GlossaryEntry:
    """One Chinese/English term pair with the units where it was found."""

    zh: str
    en: str
    abbr: str = ""
    refs: tuple[str, ...] = ()
    source: str = "corpus"


# --- choosing the Chinese boundary -------------------------------------------------------------------


_NUMERALS = "零一二三四五六七八九十百千万两"


def _words(run: str) -> list[str]:
    """jieba words of a CJK run, keeping names (罗伯特·劳伦斯) and numbers (二|十国集团) whole."""
    out: list[str] = []
    for w in _jieba().lcut(run, HMM=True):
        numeral = bool(out) and all(ch in _NUMERALS for ch in out[-1])
        # A number binds to the next numeral or single character (三十三|国 -> 三十三国).
        if out and (w in "·・" or out[-1][-1] in "·・" or (numeral and (w[0] in _NUMERALS or len(w) == 1))):
            out[-1] += w
        else:
            out.append(w)
    return out


def _is_function(word: str) -> bool:
    return word in FUNCTION_WORDS or (len(word) == 1 and word in FUNCTION_CHARS)


def _is_boundary_char(ch: str) -> bool:
    return not ch or ch in FUNCTION_CHARS or not _CJK.match(ch)


class _Attestation:
    """Counts how often a string occurs in the corpus standing on its own left boundary."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.text = "\n".join(texts)
        self._cache: dict[tuple[str, str], int] = {}

    def count(self, term: str, left: str) -> int:
        """Occurrences of ``term`` right after punctuation, a non-CJK character or a function character.

        Only such sightings count: a head shared by longer names (标准化组织 in 国际标准化组织 and
        国家标准化组织) or a fragment (后措施 of 边境后措施) never stands there. ``left`` is the
        character before the sighting being judged, which is itself left out of the count.
        """
        key = (term, left)
        if key not in self._cache:
            n = 0
            for m in re.finditer(re.escape(term), self.text):
                prev = self.text[m.start() - 1] if m.start() else "\n"
                if _is_boundary_char(prev):
                    n += 1
            # The sighting being judged is one of them whenever its own left neighbour is a boundary.
            self._cache[key] = max(0, n - 1) if _is_boundary_char(left) else n
        return self._cache[key]


def choose_term(run: str, en: str, abbr: str, attest: _Attestation, left: str = "") -> str:
    """Pick the suffix of the CJK ``run`` that is the Chinese term glossed by ``en``/``abbr``.

    Candidates are the suffixes of the run that start at a jieba word boundary (names joined by ·
    and numbers with their next character kept whole), are 2 to 16 characters long and do not start
    with a function word (的 以 为 即 各国 所谓 ... as a jieba word). A candidate whose first
    *character* is a function character (等效性, 对外贸易) inside the run needs two independent
    sightings. Scores:

    * syntax: +0.6 after a function word (the author's grammar puts a boundary there), unless that
      word is a lone character next to another lone character, i.e. jieba broke an unknown word
      (负|向|一体化); +0.4 after a conjunction, which may as well join two parts of one name
      (关税及贸易总协定); +0.2 for the whole run, which only says that a clause starts there;
    * attestation, up to +1: how often the string occurs elsewhere right after punctuation, a
      non-CJK or a function character. Fragments (后措施) and heads shared by longer names
      (标准化组织) never stand there; scaled down for two-character words, which all recur;
    * length prior: an English term of n content words (a long compound counts twice; for a bare
      abbreviation n = capitals + digit groups) is usually written with 1.5n-3n characters. Outside
      that range the score drops with the relative distance, steeply for too short (generic words).

    The best score wins; ties go to the candidate nearer 2.25n characters, then to the shorter one,
    so that when the evidence is even the shorter well-attested term is chosen. Returns "" when no
    candidate is admissible. ``left`` is the character before the run.
    """
    words = _words(run)
    n = _size_units(en, abbr)
    lo, hi, mid = 1.5 * n, 3.0 * n, 2.25 * n
    scored: list[tuple[float, float, int, str]] = []
    for i, word in enumerate(words):
        cand = "".join(words[i:])
        if not 2 <= len(cand) <= MAX_ZH or _is_function(word):
            continue
        prev = words[i - 1] if i else ""
        prev_char = prev[-1] if prev else left
        seen = attest.count(cand, prev_char)
        if cand[0] in FUNCTION_CHARS and i > 0 and seen < 2:
            continue  # a jieba word opening on 为/对/在 (为主, 在于) must show it exists on its own (等效性)
        # A lone function character next to another lone character is jieba breaking an unknown word.
        trusted = _is_function(prev) and (len(prev) > 1 or i == 1 or len(words[i - 2]) > 1)
        syntax = (0.4 if prev in CONJUNCTIONS else 0.6) if trusted else (0.2 if i == 0 else 0.0)
        size = len(cand)
        support = min(1.0, math.log2(1 + seen) / 1.5) * min(1.0, (size - 1) / 3)
        fit = -3.0 * (lo - size) / lo if size < lo else (-1.5 * (size - hi) / hi if size > hi else 0.0)
        scored.append((round(syntax + support + fit, 6), -abs(size - mid), -size, cand))
    return max(scored)[3] if scored else ""


def _term_before(text: str, pos: int, en: str, abbr: str, attest: _Attestation) -> str:
    """The Chinese term that the parenthesis at ``text[pos]`` glosses, or ""."""
    before = text[:pos].rstrip()
    if not before:
        return ""
    last = before[-1]
    if last in "》”":
        # A title 《…》 or quoted term “…” is delimited by the author: take its content whole.
        opener = "《" if last == "》" else "“"
        start = before.rfind(opener, max(0, len(before) - MAX_ZH - 2))
        inner = before[start + 1 : -1] if start >= 0 else ""
        if not inner or len(inner) > MAX_ZH or opener in inner:
            return ""
        if last == "》":
            return inner if _CJK.search(inner) else ""
        if not all(_RUN_CHAR.match(ch) for ch in inner) or _is_function(_words(inner)[0]):
            return ""
        return inner
    j = len(before)
    while j > 0 and _RUN_CHAR.match(before[j - 1]) and len(before) - j < 40:
        j -= 1
    run = before[j:].lstrip("·・")
    if not _CJK.search(run):
        return ""
    return choose_term(run, en, abbr, attest, before[j - 1] if j else "")


# --- mining ------------------------------------------------------------------------------------------

_MINED_KINDS = frozenset({"body", "footnote", "abstract", "keywords"})


def _ref_key(ref: str) -> tuple[str | int, ...]:
    """Natural order for refs, so that doc:p4 sorts before doc:p10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", ref))


def _merge(found: Iterable[tuple[str, str, str, str]], source: str) -> list[GlossaryEntry]:
    """Merge (zh, en, abbr, ref) sightings: one entry per zh + case-folded en, abbreviations folded in."""
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for zh, en, abbr, ref in found:
        groups[(zh, en.casefold())].append((en, abbr, ref))
    merged: dict[tuple[str, str], GlossaryEntry] = {}
    for key in sorted(groups):
        rows = sorted(groups[key], key=lambda r: (_ref_key(r[2]), r[0], r[1]))
        abbrs = sorted({r[1] for r in rows if r[1]})
        refs = tuple(sorted({r[2] for r in rows if r[2]}, key=_ref_key))
        merged[key] = GlossaryEntry(key[0], rows[0][0], abbrs[0] if abbrs else "", refs, source)
    # An abbreviation-only sighting of a term that also has an English gloss adds to that entry.
    for (zh, en_key), entry in list(merged.items()):
        if en_key or not entry.abbr:
            continue
        twins = [k for k, e in merged.items() if k[0] == zh and k[1] and e.abbr in ("", entry.abbr)]
        if twins:
            del merged[(zh, en_key)]
            for k in twins:
                e = merged[k]
                merged[k] = replace(
                    e, abbr=entry.abbr, refs=tuple(sorted({*e.refs, *entry.refs}, key=_ref_key))
                )
    return [merged[k] for k in sorted(merged)]


def _expand_abbreviations(entries: list[GlossaryEntry], units: Sequence[Paragraph]) -> list[GlossaryEntry]:
    """Give each abbreviation-only entry the English long form the corpus states for it, if any.

    世界贸易组织（WTO）names no English; a text that says "World Trade Organization (WTO)" does, and
    the long form then matches English questions that spell it out. The stating units join the refs.
    """
    expansions = acronym_expansions(units)
    out = []
    for e in entries:
        stated = expansions.get(e.abbr) if e.abbr and not e.en else None
        if stated:
            e = replace(e, en=stated[0], refs=tuple(sorted({*e.refs, *stated[1]}, key=_ref_key)))
        out.append(e)
    return out


def _split_keywords(text: str) -> list[str]:
    body = re.sub(r"^\s*(?:关键词|关键字|Key\s*words?)\s*[:：]\s*", "", text, flags=re.IGNORECASE)
    return [k.strip() for k in re.split(r"[;；，,]", body) if k.strip()]


def _keyword_pairs(paragraphs: Sequence[Paragraph]) -> list[tuple[str, str, str, str]]:
    """Chinese and English keyword lists of one paper, aligned position by position if equally long."""
    found: list[tuple[str, str, str, str]] = []
    by_doc: dict[str, dict[str, Paragraph]] = defaultdict(dict)
    for p in paragraphs:
        by_doc[p.doc_id][p.kind] = p
    for units in by_doc.values():
        zh_p, en_p = units.get("keywords"), units.get("keywords-en")
        if zh_p is None or en_p is None:
            continue
        zh_list, en_list = _split_keywords(zh_p.text), _split_keywords(en_p.text)
        if len(zh_list) != len(en_list):
            continue  # no safe alignment; a wrong pair is worse than none
        for zh, en in zip(zh_list, en_list, strict=True):
            if not _CJK.search(zh) or len(zh) > MAX_ZH:
                continue
            abbr = en if _abbr_ok(en) else ""
            found.append((zh, "" if abbr else en, abbr, zh_p.ref))
    return found


def abstract_pairs(paragraphs: Iterable[Paragraph]) -> list[tuple[str, str]]:
    """(Chinese abstract ref, English abstract ref) for every document that has both, sorted."""
    zh: dict[str, str] = {}
    en: dict[str, str] = {}
    for p in paragraphs:
        if p.kind == "abstract":
            zh.setdefault(p.doc_id, p.ref)
        elif p.kind == "abstract-en":
            en.setdefault(p.doc_id, p.ref)
    return sorted((zh[d], en[d]) for d in zh if d in en)


# --- the glossary ------------------------------------------------------------------------------------


def _en_tokens(text: str) -> list[tuple[str, int, int]]:
    """Words of an English text as (normal form, start, end); hyphens split words, plurals are folded."""
    out = []
    for m in re.finditer(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?", text):
        w = m.group().lower().replace("’", "'").removesuffix("'s")
        if len(w) > 3 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
            w = w[:-1]
        out.append((w, m.start(), m.end()))
    return out


def _longest_spans(matches: list[tuple[int, int, GlossaryEntry]]) -> list[GlossaryEntry]:
    """Keep the longest non-overlapping matches (all entries sharing a kept span), in text order."""
    kept: list[tuple[int, int, GlossaryEntry]] = []
    for start, end, entry in sorted(matches, key=lambda m: (m[0] - m[1], m[0])):
        if all((s, e) == (start, end) or e <= start or end <= s for s, e, _ in kept):
            kept.append((start, end, entry))
    ordered = sorted(kept, key=lambda m: (m[0], m[1], m[2].zh, m[2].en))
    return list(dict.fromkeys(entry for _, _, entry in ordered))


@dataclass(frozen=True)
class Glossary:
    """An immutable, sorted set of glossary entries with lookups for English and Chinese questions."""

    entries: tuple[GlossaryEntry, ...] = ()

    @classmethod
    def mine(cls, paragraphs: Iterable[Paragraph]) -> Glossary:
        """Mine inline term glosses and aligned keyword lists from the corpus units."""
        units = tuple(paragraphs)
        attest = _Attestation(p.text for p in units if p.kind in _MINED_KINDS)
        found: list[tuple[str, str, str, str]] = []
        for p in units:
            if p.kind not in _MINED_KINDS:
                continue
            for m in _PAREN.finditer(p.text):
                parsed = parse_gloss(m.group(1))
                if parsed is None:
                    continue
                zh = _term_before(p.text, m.start(), *parsed, attest)
                if zh:
                    found.append((zh, *parsed, p.ref))
        found.extend(_keyword_pairs(units))
        # 可考虑（may take into consideration）is advice, not a term: it would expand every English
        # question with "may" or "consider" into a clause of one paper.
        found = [f for f in found if not is_predicate(_words(f[0]), f[1])]
        return cls(tuple(_expand_abbreviations(_merge(found, "corpus"), units)))

    @classmethod
    def load(cls, paragraphs: Iterable[Paragraph], user_file: Path | None) -> Glossary:
        """Mined entries plus the user file; a user entry replaces mined ones with the same zh or abbr.

        A missing ``user_file`` (or None) gives just the mined glossary. User entries get as refs the
        units whose text contains their Chinese term.
        """
        units = tuple(paragraphs)
        mined = cls.mine(units).entries
        if user_file is None or not Path(user_file).is_file():
            return cls(mined)
        rows = read_user_file(Path(user_file))
        found = [
            (zh, en, abbr, p.ref) for zh, en, abbr in rows for p in units if compact(zh) in compact(p.text)
        ]
        found += [(zh, en, abbr, "") for zh, en, abbr in rows]  # a term the texts never use still counts
        user = _expand_abbreviations(_merge(found, "user"), units)
        zhs = {e.zh for e in user}
        abbrs = {e.abbr for e in user if e.abbr}
        kept = [e for e in mined if e.zh not in zhs and e.abbr not in abbrs]
        return cls(tuple(sorted([*kept, *user], key=lambda e: (e.zh, e.en.casefold(), e.abbr, e.source))))

    def expand_english(self, question: str) -> list[GlossaryEntry]:
        """Entries whose English term or abbreviation occurs in ``question``, longest matches first-come.

        English terms match case-insensitively on word boundaries with plural/singular, possessive and
        hyphen/space folding ("behind the border measure" finds "behind-the-border measures").
        Abbreviations match case-sensitively as whole tokens, optionally pluralised ("RTAs").
        Overlapping shorter matches are dropped; several entries for the same span are all returned.
        """
        toks = _en_tokens(question)
        words = [t[0] for t in toks]
        matches: list[tuple[int, int, GlossaryEntry]] = []
        for entry in self.entries:
            if entry.en:
                pattern = [t[0] for t in _en_tokens(entry.en)]
                k = len(pattern)
                for i in range(len(words) - k + 1 if k else 0):
                    if words[i : i + k] == pattern:
                        matches.append((toks[i][1], toks[i + k - 1][2], entry))
            if entry.abbr:
                for m in re.finditer(rf"(?<![A-Za-z0-9]){re.escape(entry.abbr)}s?(?![A-Za-z0-9])", question):
                    matches.append((m.start(), m.end(), entry))
        return _longest_spans(matches)

    def gloss_chinese(self, question: str) -> list[GlossaryEntry]:
        """Entries whose Chinese term occurs in ``question``, longest terms first, non-overlapping."""
        matches = [
            (m.start(), m.end(), e) for e in self.entries for m in re.finditer(re.escape(e.zh), question)
        ]
        return _longest_spans(matches)
