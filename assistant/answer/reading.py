"""The reader's jobs around one answer: judge the best unit, choose its sentences, render quotes.

Every job is bounded and fails soft: a ReaderError becomes a one-line notice on the answer and the
extractive answer stands. What the reader says only ever judges, chooses among the unit's own
sentences (the quote stays a verified substring) or renders a quote already verified.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import replace

from assistant.answer.reader.base import Reader, Reading
from assistant.answer.reader.prompts import PROMPT_VERSION
from assistant.errors import ReaderError, one_line
from assistant.records import Answer, Citation, Hit, Lang, ReaderNote
from assistant.text import CJK_IDEO, split_sentences

_CJK = re.compile(f"[{CJK_IDEO}]")


def reader_id(reader: Reader) -> str:
    """What a judge bar is fitted for: the reader and the prompt version."""
    return f"{reader.name}|{PROMPT_VERSION}"


def sentences_of(hit: Hit) -> list[str]:
    """The best unit's sentences, as the reader sees them numbered."""
    text = hit.paragraph.text
    return [text[s:e] for s, e in split_sentences(text)] or [text]


def judge(reader: Reader, question: str, candidates: Sequence[Hit]) -> tuple[Reading | None, ReaderNote]:
    """The reader's reading of the best candidate, and the note that records it (or its failure)."""
    note = ReaderNote(reader.name, PROMPT_VERSION)
    if not candidates:
        return None, note
    started = time.perf_counter()
    try:
        reading = reader.read(question, sentences_of(candidates[0]))
    except ReaderError as exc:
        return None, replace(note, notice=f"reader unavailable: {one_line(exc)}")
    ms = {"read": (time.perf_counter() - started) * 1000}
    return reading, replace(note, judge=round(reading.answers, 4), selected=reading.sentences, timings_ms=ms)


def needs_rendering(lang: Lang, quote: str) -> Lang | None:
    """The language a quote must be rendered into for a reader of ``lang``: an English question over
    Chinese text wants English, a Chinese question over English text (an abstract) wants Chinese."""
    has_cjk = bool(_CJK.search(quote))
    if lang == "en" and has_cjk:
        return "en"
    if lang == "zh" and not has_cjk:
        return "zh"
    return None


def render(
    reader: Reader, answer: Answer, glossary: Sequence[tuple[str, str]], note: ReaderNote
) -> tuple[Answer, ReaderNote]:
    """Add a machine rendering to each citation whose quote is not in the question's language.

    ``glossary`` holds (zh, en) term pairs; those that occur in a quote are handed to the reader so
    terminology stays consistent (负向一体化 -> negative integration).
    """
    if not answer.answerable or note.notice:
        return answer, note
    started = time.perf_counter()
    citations: list[Citation] = []
    for c in answer.citations:
        target = needs_rendering(answer.lang, c.quote)
        if target is None:
            citations.append(c)
            continue
        terms = [
            (zh, en)
            for zh, en in glossary
            if (zh in c.quote if target == "en" else en.lower() in c.quote.lower())
        ]
        try:
            citations.append(replace(c, rendering=reader.render(c.quote, target, terms[:12]) or None))
        except ReaderError as exc:
            note = replace(note, notice=f"reader could not render a quote: {one_line(exc)}")
            citations.append(c)
    if all(a is b for a, b in zip(citations, answer.citations, strict=True)):
        return answer, note  # nothing needed rendering
    ms = {**note.timings_ms, "render": (time.perf_counter() - started) * 1000}
    return replace(answer, citations=tuple(citations)), replace(note, timings_ms=ms)
