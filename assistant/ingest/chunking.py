"""Paragraph -> chunks: sentence-aligned slices that never cross a paragraph boundary.

Chunks are kept short (a few sentences) so that the best-matching chunk of a
paragraph is also a good quote candidate, and so one long paragraph about
several things does not blur into one vector. The index holds two granularities:
these windows, which tile the paragraph, and each sentence of a window that
holds more than one, so a question about one sentence's fact is matched against
that sentence alone. A unit ranks by its best window and is quoted from its best
slice of either kind (measured in evals/README.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from assistant.records import Chunk, Paragraph
from assistant.text import split_sentences

DEFAULT_MAX_CHARS = 220


def chunk_id(ref: str, start: int, end: int, text: str) -> str:
    """A stable id derived from where the chunk sits and what it says."""
    digest = hashlib.sha256(f"{ref}\0{start}\0{end}\0{text}".encode()).hexdigest()[:12]
    return f"{ref}#{start}-{end}-{digest}"


def _slice(paragraph: Paragraph, start: int, end: int, sentence: bool = False) -> Chunk:
    text = paragraph.text[start:end]
    return Chunk(
        chunk_id(paragraph.ref, start, end, text), paragraph.ref, paragraph.doc_id, start, end, text, sentence
    )


def _windows(spans: list[tuple[int, int]], max_chars: int) -> Iterator[list[tuple[int, int]]]:
    """Greedily group consecutive sentence spans into windows of at most ``max_chars``.

    A single sentence longer than ``max_chars`` becomes a window of its own rather
    than being cut mid-sentence: a quote must stay a whole sentence.
    """
    if not spans:
        return
    group = [spans[0]]
    for span in spans[1:]:
        if span[1] - group[0][0] > max_chars:
            yield group
            group = []
        group.append(span)
    yield group


def chunk_paragraph(paragraph: Paragraph, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[Chunk, ...]:
    """Split one paragraph into sentence-aligned chunks covering all of its text."""
    return chunk_paragraphs([paragraph], max_chars, sentences=False)


def chunk_paragraphs(
    paragraphs: Iterable[Paragraph], max_chars: int = DEFAULT_MAX_CHARS, sentences: bool = True
) -> tuple[Chunk, ...]:
    """Chunks of all paragraphs, in order: each paragraph's windows, then (with ``sentences``)
    the single sentences of its multi-sentence windows (a one-sentence window already is its
    sentence)."""
    out: list[Chunk] = []
    for p in paragraphs:
        groups = list(_windows(split_sentences(p.text), max_chars))
        out += [_slice(p, g[0][0], g[-1][1]) for g in groups]
        if sentences:
            out += [_slice(p, s, e, sentence=True) for g in groups if len(g) > 1 for s, e in g]
    return tuple(out)
