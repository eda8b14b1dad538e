"""Paragraph -> chunks: sentence-aligned slices that never cross a paragraph boundary.

Chunks are kept short (a few sentences) so that the best-matching chunk of a
paragraph is also a good quote candidate, and so one long paragraph about
several things does not blur into one vector.
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


def _windows(spans: list[tuple[int, int]], max_chars: int) -> Iterator[tuple[int, int]]:
    """Greedily group consecutive sentence spans into windows of at most ``max_chars``.

    A single sentence longer than ``max_chars`` becomes a window of its own rather
    than being cut mid-sentence: a quote must stay a whole sentence.
    """
    start, end = spans[0]
    for s, e in spans[1:]:
        if e - start > max_chars:
            yield start, end
            start = s
        end = e
    yield start, end


def chunk_paragraph(paragraph: Paragraph, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[Chunk, ...]:
    """Split one paragraph into sentence-aligned chunks covering all of its text."""
    text = paragraph.text
    spans = split_sentences(text)
    if not spans:
        return ()
    return tuple(
        Chunk(chunk_id(paragraph.ref, s, e, text[s:e]), paragraph.ref, paragraph.doc_id, s, e, text[s:e])
        for s, e in _windows(spans, max_chars)
    )


def chunk_paragraphs(
    paragraphs: Iterable[Paragraph], max_chars: int = DEFAULT_MAX_CHARS
) -> tuple[Chunk, ...]:
    """Chunks of all paragraphs, in order."""
    return tuple(c for p in paragraphs for c in chunk_paragraph(p, max_chars))
