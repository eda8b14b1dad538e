"""English expansions of abbreviations, where the corpus states them: "Technical Barriers to Trade (TBT)".

The Chinese papers gloss most abbreviations with a Chinese name only (世界贸易组织（WTO）), so the
glossary knows WTO but not "World Trade Organization" unless some text spells it out. This module
finds those statements by the Schwartz & Hearst (2003) rule: the long form is the shortest run of
words before the parenthesis whose letters contain the abbreviation's letters in order, the first
one opening a word. "ABBR (long form)" is read the same way round. Nothing is guessed: an
abbreviation no text expands keeps an empty English side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.records import Paragraph

# An abbreviation: capital first, then capitals/digits with inner . - & / (WP.29, S&DT), plural s.
_SHORT = r"[A-Z](?:[A-Z0-9]|[.\-&/](?=[A-Z0-9]))+s?"
_WORD = r"[A-Za-z][A-Za-z'’\-]*"
# "long form (ABBR)": up to ten Latin words right before the parenthesis, nothing but spaces between.
_LONG_THEN_SHORT = re.compile(rf"((?:{_WORD}[ \t]+)*{_WORD})\s*[（(]\s*({_SHORT})\s*[)）]")
# "ABBR (long form)": the abbreviation, then a parenthesis of two or more Latin words.
_SHORT_THEN_LONG = re.compile(rf"(?<![A-Za-z0-9])({_SHORT})\s*[（(]\s*({_WORD}(?:[ \t]+{_WORD})+)\s*[)）]")
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)


def long_form(short: str, words: str) -> str:
    """The shortest tail of ``words`` that spells ``short`` (Schwartz & Hearst), or "" if none does.

    Each letter or digit of the abbreviation is found in the text from right to left, in order; the
    first must open a word. The tail may hold at most min(n + 5, 2n) words for n letters, so a
    sentence that merely contains the letters is not taken for a name.
    """
    # a plural abbreviation (SAAs) spells its singular: the one lower-case letter is the plural s
    letters = [ch.lower() for ch in short.removesuffix("s") if ch.isalnum()]
    text = words
    pos = len(text) - 1
    for k in range(len(letters) - 1, -1, -1):
        while pos >= 0 and (
            text[pos].lower() != letters[k] or (k == 0 and pos > 0 and text[pos - 1].isalnum())
        ):
            pos -= 1
        if pos < 0:
            return ""
        pos -= 1
    start = pos + 1
    found = _LEADING_ARTICLE.sub("", text[start:]).strip()
    n = len(letters)
    if len(found.split()) > min(n + 5, 2 * n) or len(found) <= len(short) or short in found:
        return ""
    return found if len(found.split()) > 1 or "-" in found else ""


def _pairs(text: str) -> Iterable[tuple[str, str]]:
    """(abbreviation, long form) for every expansion stated in ``text``."""
    for m in _LONG_THEN_SHORT.finditer(text):
        words = m.group(1).split()
        found = long_form(m.group(2), " ".join(words[-10:]))
        if found:
            yield m.group(2), found
    for m in _SHORT_THEN_LONG.finditer(text):
        found = long_form(m.group(1), " ".join(m.group(2).split()))
        # the whole parenthesis must be the expansion, not a remark that happens to hold its letters
        if found and found == _LEADING_ARTICLE.sub("", " ".join(m.group(2).split())):
            yield m.group(1), found


def acronym_expansions(units: Iterable[Paragraph]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Abbreviation -> (its English long form, the refs that state it), from every unit of the corpus.

    When the papers expand one abbreviation differently, the form stated most often wins (ties: the
    first in ref order), so one sloppy sentence does not rename a well-attested term.
    """
    seen: dict[str, dict[str, list[str]]] = {}
    for p in units:
        for short, found in _pairs(p.text):
            seen.setdefault(short, {}).setdefault(found, []).append(p.ref)
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for short, forms in seen.items():
        best = max(forms, key=lambda f: (len(forms[f]), -list(forms).index(f)))
        out[short] = (best, tuple(dict.fromkeys(forms[best])))
    return out
