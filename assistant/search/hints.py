"""Cues in a question that point at a document or a kind of unit.

Researchers often name the author ("According to Li…", "徐泉认为…") or the part
of the paper ("in the abstract", "脚注"). Such cues nudge ranking toward the
named document or unit kind; they never filter, so a wrong cue costs little.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from assistant.records import DocumentMeta
from assistant.text import CJK_IDEO

_KIND_CUES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(r"\b(?:foot|end)-?notes?\b|脚注|尾注|注释", re.I), frozenset({"footnote"})),
    (re.compile(r"\babstracts?\b|\bsummary\b|摘要|提要", re.I), frozenset({"abstract", "abstract-en"})),
    (re.compile(r"\bkey ?words\b|关键词", re.I), frozenset({"keywords", "keywords-en"})),
)


@dataclass(frozen=True)
class QueryHints:
    """Documents and unit kinds a question points at (empty when it names none)."""

    doc_ids: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()


@lru_cache(maxsize=256)
def romanised(name: str) -> tuple[str, ...]:
    """Ways an English text may write a Chinese personal name: 'Xu Quan', 'Quan Xu', 'Xu' (surname)."""
    from pypinyin import lazy_pinyin

    syllables = [s.capitalize() for s in lazy_pinyin(name)]
    if len(syllables) < 2:
        return tuple(syllables)
    surname, given = syllables[0], "".join(syllables[1:]).capitalize()
    return (f"{surname} {given}", f"{given} {surname}", surname)


def _author_patterns(meta: DocumentMeta) -> list[re.Pattern[str]]:
    patterns = []
    for author in meta.authors:
        patterns.append(re.compile(re.escape(author)))
        if re.search(f"[{CJK_IDEO}]", author):
            for form in romanised(author):
                # Case-sensitive whole word: "Li" the author, not "li" inside a word.
                patterns.append(re.compile(rf"(?<![A-Za-z]){re.escape(form)}(?![a-z])"))
    return patterns


def find_hints(question: str, documents: Mapping[str, DocumentMeta]) -> QueryHints:
    """The documents whose author or title the question names, and the unit kinds it asks about."""
    docs = set()
    for doc_id, meta in documents.items():
        titles = [t for t in (meta.title, meta.short_title, meta.title_en) if len(t) >= 4]
        if any(p.search(question) for p in _author_patterns(meta)) or any(t in question for t in titles):
            docs.add(doc_id)
    kinds: set[str] = set()
    for pattern, cue in _KIND_CUES:
        if pattern.search(question):
            kinds |= cue
    # A question naming every document is no cue at all.
    return QueryHints(frozenset(docs) if len(docs) < len(documents) else frozenset(), frozenset(kinds))
