"""Chunks are sentence-aligned slices of one paragraph with stable ids."""

from __future__ import annotations

import pytest

from assistant.ingest.chunking import chunk_paragraph, chunk_paragraphs
from assistant.records import Paragraph


def para(text: str) -> Paragraph:
    return Paragraph("d:p1", "d", "body", 1, ("一、",), text)


@pytest.mark.parametrize(
    ("text", "max_chars", "expected_chunks"),
    [
        ("一句话。", 220, 1),
        ("第一句。第二句。第三句。", 220, 1),
        ("第一句话比较长一些。第二句话也比较长。第三句话同样很长。", 12, 3),
        ("没有句号的一整段文字" * 30, 50, 1),  # one long sentence is never cut
    ],
)
def test_chunk_counts(text: str, max_chars: int, expected_chunks: int) -> None:
    chunks = chunk_paragraph(para(text), max_chars)
    assert len(chunks) == expected_chunks


@pytest.mark.parametrize("max_chars", [10, 40, 220])
def test_chunks_are_exact_slices_covering_the_paragraph(max_chars: int) -> None:
    p = para(
        "负向一体化是指消除壁垒。正向一体化是指建立规则。"
        "Negative integration removes barriers. 监管合作降低成本。"
    )
    chunks = chunk_paragraph(p, max_chars)
    assert all(p.text[c.start : c.end] == c.text for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == p.text.replace(" ", "")
    assert all(c.ref == p.ref for c in chunks)


def test_chunk_ids_are_stable_and_content_derived() -> None:
    p = para("第一句。第二句。")
    assert chunk_paragraph(p) == chunk_paragraph(p)
    changed = chunk_paragraph(para("第一句。第二句！"))
    assert chunk_paragraph(p)[0].chunk_id != changed[0].chunk_id


@pytest.mark.parametrize(
    ("text", "max_chars", "expected_sentences"),
    [
        ("一句话。", 220, []),  # a one-sentence window already is its sentence
        ("第一句。第二句。第三句。", 220, ["第一句。", "第二句。", "第三句。"]),
        ("第一句话比较长一些。第二句话也比较长。第三句话同样很长。", 12, []),  # one sentence per window
        ("第一句话。第二句话。第三句话比较长一些。", 11, ["第一句话。", "第二句话。"]),
    ],
)
def test_sentences_of_multi_sentence_windows_are_indexed_beside_them(
    text: str, max_chars: int, expected_sentences: list[str]
) -> None:
    p = para(text)
    windows = chunk_paragraph(p, max_chars)
    chunks = chunk_paragraphs([p], max_chars)
    assert chunks[: len(windows)] == windows and not any(c.sentence for c in windows)
    sentences = chunks[len(windows) :]
    assert [c.text for c in sentences] == expected_sentences
    assert all(c.sentence and p.text[c.start : c.end] == c.text for c in sentences)
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert chunk_paragraphs([p], max_chars, sentences=False) == windows
