"""The verdict's features, computed once per question from the full ranked candidate list.

Whether to answer is decided from three numbers: the best unit's dense score, its fused lead over
the runner-up and how well it states the kind of fact asked for (:func:`evidence_support`).
:func:`gather` computes them before the hit list is cut to ``-k``, so how many passages a user
asks to see never changes the verdict; the abstention rule (``answer.abstain``), the calibration
fit (``answer.calibrate``), the evals and ``--explain`` all read them from an :class:`Evidence`.

The lexical overlap features used here are shared with quote selection (``answer.compose``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.answertype import asked_kinds, states
from assistant.records import Evidence, Hit
from assistant.text import CJK_IDEO, QUESTION_STOPWORDS, split_sentences

_CJK = re.compile(f"[{CJK_IDEO}]")
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]+|\d+(?:\.\d+)?")


def features(text: str) -> set[str]:
    """Char bigrams of CJK runs and lowercased content words: cheap lexical overlap features."""
    feats = {w.lower() for w in _WORD.findall(text) if w.lower() not in QUESTION_STOPWORDS}
    han = "".join(ch if _CJK.match(ch) else " " for ch in text)
    for run in han.split():
        feats.update(run[i : i + 2] for i in range(len(run) - 1))
    return feats


def span_overlaps(text: str, spans: Sequence[tuple[int, int]], cues: frozenset[str]) -> list[int]:
    """How many of ``cues`` each span of ``text`` shares."""
    return [len(cues & features(text[s:e])) for s, e in spans]


def with_previous(
    text: str, spans: Sequence[tuple[int, int]], cues: frozenset[str]
) -> tuple[list[int], list[int]]:
    """Overlap of each sentence alone, and together with the one before it.

    Chinese prose often names its subject once and drops it from the next sentence
    (“《贸易便利化协定》主要内容是……。2013年12月……完成谈判，……于2017年2月22日生效。”), so
    the sentence stating a date may share no words with the question on its own. The price:
    a date in the sentence right after an on-topic one counts even if it dates something else.
    """
    feats = [cues & features(text[s:e]) for s, e in spans]
    alone = [len(f) for f in feats]
    return alone, [len(f | (feats[i - 1] if i else set())) for i, f in enumerate(feats)]


def question_features(question: str, terms: Sequence[str] = ()) -> frozenset[str]:
    """The question's overlap features, plus those of ``terms`` (Chinese glossary terms of an English
    question, so its sentences can be matched against Chinese text)."""
    return frozenset(features(" ".join((question, *terms))))


def evidence_support(hit: Hit, question: str, terms: Sequence[str] = ()) -> float:
    """How well the hit's paragraph states the kind of fact the question asks for, in [0, 1].

    1.0 for open questions. For "when / how many / which article" questions: the best
    question overlap among sentences that state such a fact (read together with the
    sentence before, which often carries the subject), relative to the best overlap of
    any single sentence (both +1, capped at 1); 0.0 when no sentence states one. A low
    value means the paragraph is on topic but the requested fact is not in it.
    """
    kinds = asked_kinds(question)
    if not kinds:
        return 1.0
    text = hit.paragraph.text
    spans = split_sentences(text)
    cues = question_features(question, terms)
    alone, with_context = with_previous(text, spans, cues)
    best = max(alone, default=0)
    support = 1.0
    for kind in kinds:
        typed = [
            o for (s, e), o in zip(spans, with_context, strict=True) if states(kind, text[s:e], question)
        ]
        support = min(support, min(1.0, (max(typed) + 1) / (best + 1)) if typed else 0.0)
    return support


def gather(hits: Sequence[Hit], question: str, terms: Sequence[str] = ()) -> Evidence:
    """The verdict's features from the full ranked candidate list (never a list cut to ``-k``).

    With no candidate everything is 0; with a single one there is no runner-up to lead, so the
    lead is 0 and only the dense bar can let it through.
    """
    if not hits:
        return Evidence(top_dense=0.0, lead=0.0, support=0.0)
    top = hits[0]
    return Evidence(
        top_dense=top.scores.get("dense", top.score),
        lead=top.score - hits[1].score if len(hits) > 1 else 0.0,
        support=evidence_support(top, question, terms),
    )
