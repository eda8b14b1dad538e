"""The lexical side: which question tokens reach BM25, and how much of a question the corpus covers."""

from __future__ import annotations

import pytest

from assistant.engine import Engine, Settings
from assistant.index.store import build_index, load_index
from assistant.records import Document
from assistant.search.lexical import LexicalIndex


@pytest.fixture
def lexical(documents: list[Document]) -> LexicalIndex:
    return LexicalIndex([p for d in documents for p in d.paragraphs])


@pytest.mark.parametrize(
    ("question", "low", "high"),
    [
        ("负向一体化是什么？", 1.0, 1.0),  # every content word is in the corpus
        ("多哈回合谈判为何停滞？", 0.3, 0.9),  # 停滞 is not
        ("明天会下雨吗？", 0.0, 0.0),  # nothing is
        ("是什么？", 0.0, 0.0),  # only stopwords: no content at all
        ("", 0.0, 0.0),
    ],
)
def test_coverage(lexical: LexicalIndex, question: str, low: float, high: float) -> None:
    assert low <= lexical.coverage(question) <= high


def test_query_tokens_keep_only_words_the_corpus_has(lexical: LexicalIndex) -> None:
    tokens = lexical.query_tokens("多哈回合谈判为何停滞？")
    assert "停滞" not in tokens and tokens
    assert lexical.analyse("多哈回合谈判为何停滞？") == (tokens, lexical.coverage("多哈回合谈判为何停滞？"))


def test_a_barely_covered_question_gets_a_smaller_lexical_bonus(
    documents, embedder, index_dir, tmp_path
) -> None:
    """One shared word must not hand a paragraph the full lexical weight (an off-topic question
    naming a city the corpus mentions once would otherwise lead by a clear margin)."""
    build_index(documents, embedder, index_dir, "c1")
    engine = Engine(Settings(corpus_dir=tmp_path, index_dir=index_dir), embedder, load_index(index_dir))

    def bonus(question: str) -> float:
        retrieval = engine.ask(question).trace
        assert retrieval is not None
        top = retrieval.hits[0].scores
        return top["fused"] - top["dense"] - top["hint"]

    covered, partial = bonus("协商一致决策方式"), bonus("协商一致决策方式与明天的天气预报和下雨概率")
    assert covered == pytest.approx(engine.retriever.weights.lexical["zh"], abs=1e-3)
    assert 0.0 < partial < covered
