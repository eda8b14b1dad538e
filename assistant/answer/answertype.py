"""What kind of fact a question asks for, and whether a sentence states one.

Near-domain questions are the hard case for abstention: the papers discuss the
topic, so retrieval scores are high, but the specific fact asked for (a year, a
number, an article) is not there. A question that asks "which year" is only
answered by a sentence that names a year, so the answer check looks for a
token of the requested kind in the evidence, ignoring tokens the question
itself already contains ("How many ... in 2023?" is not answered by "2023").

The cue lists cover the usual interrogative forms in both languages; they are
about grammar, not about this corpus.
"""

from __future__ import annotations

import re
from typing import Literal

AnswerKind = Literal["time", "quantity", "article", "ordinal"]

_ZH_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec"
)

# Question cues, per kind. English "when" counts only as an interrogative
# ("When did ...", "when was ...", "When, and ..."), not as a conjunction.
_ASKS: dict[AnswerKind, re.Pattern[str]] = {
    "time": re.compile(
        r"哪一年|哪年|何年|哪一天|哪天|何时|什么时候|什么时间|几月|哪个月|哪一月|年份|日期"
        r"|(?i:\bwhen\s*(?:,|(?:did|was|were|is|are|will|would|does|do|has|have|had)\b)"
        r"|\b(?:what|which)\s+(?:year|date|day|month)\b|\bsince\s+when\b|\bhow\s+long\s+ago\b)"
    ),
    "quantity": re.compile(
        # "哪几个方面" asks for a list, "近几年" means "recently", "第几届" is an ordinal
        r"多少|(?<![哪近这第前后])几(?:个|位|种|项|家|国|倍|成|年|次|轮|条)|多大比例|百分之几|占比"
        r"|(?i:\bhow\s+(?:many|much)\b|\bwhat\s+(?:percentage|share|proportion|fraction|number|amount)\b"
        r"|\bwhat\s+(?:[\w-]+\s+){0,3}(?:rates?|margins?)\b|\bby\s+how\s+much\b)"
    ),
    "article": re.compile(
        r"第几条|第几款|哪一条|哪条|哪一款|哪个条款|哪一条款|哪些条款"
        r"|(?i:\b(?:which|what)\s+(?:article|provision|clause|paragraph|section)s?\b)"
    ),
    "ordinal": re.compile(r"第几届|第几次|第几轮|第几个|第几位|(?i:\bwhich\s+(?:session|round)\b)"),
}

# Evidence tokens, per kind.
_STATES: dict[AnswerKind, re.Pattern[str]] = {
    "time": re.compile(
        rf"(?<!\d)(?:1[6-9]\d\d|20\d\d)(?!\d)|[{_ZH_DIGITS}]{{2,4}}年|\d{{1,2}}\s*月|[{_ZH_DIGITS}]{{1,3}}月"
        rf"|\b(?:{_MONTHS})\b"
    ),
    "quantity": re.compile(
        rf"\d+(?:[.,]\d+)*\s*[%％]?|[{_ZH_DIGITS}]+(?:个|位|种|项|家|国|成|倍|届|次|轮|条|年|名|件|类|万|亿|%|％)|百分之|半数|一半|过半"
    ),
    "article": re.compile(
        rf"第\s*[\d.．{_ZH_DIGITS}]+\s*(?:条|款|章|节)|(?i:\b(?:article|art\.|section)\s*(?:\d|[IVXLC]+\b))|§\s*\d"
    ),
    "ordinal": re.compile(
        rf"第\s*[\d{_ZH_DIGITS}]+\s*(?:届|次|轮|个|位)|(?i:\b\d+(?:st|nd|rd|th)\b"
        r"|\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
        r"thirteenth)\b)"
    ),
}


def asked_kinds(question: str) -> frozenset[AnswerKind]:
    """The kinds of fact the question asks for (empty for open questions: what, why, how)."""
    return frozenset(kind for kind, cue in _ASKS.items() if cue.search(question))


def states(kind: AnswerKind, sentence: str, question: str = "") -> bool:
    """True if ``sentence`` names a ``kind`` token that the question does not already contain."""
    given = {m.group(0).casefold() for m in _STATES[kind].finditer(question)}
    return any(m.group(0).casefold() not in given for m in _STATES[kind].finditer(sentence))
