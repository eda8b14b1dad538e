"""The engine over a tiny corpus with a hashing embedder: answers, abstention, bad questions."""

from __future__ import annotations

import pytest

from assistant.answer.abstain import AbstentionPolicy
from assistant.answer.compose import quote_is_verified
from assistant.answer.record import answer_record, schema_problems
from assistant.engine import Engine, QuestionError, Settings, clean_question
from assistant.index.store import build_index, chunk_title


@pytest.fixture
def engine(documents, embedder, index_dir, tmp_path) -> Engine:
    build_index(documents, embedder, index_dir, "c1")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=index_dir)
    from assistant.index.store import load_index

    return Engine(settings, embedder, load_index(index_dir), policy=AbstentionPolicy({"zh": 0.2, "en": 0.2}))


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("什么是负向一体化？", "zh"),
        ("What does negative integration mean?", "en"),
        ("What does 负向一体化 mean?", "en"),
        ("WTO的TBT协定是什么？", "zh"),
        ("  多哈回合\n什么时候开始？\t", "zh"),
    ],
)
def test_clean_question_detects_language(question: str, lang: str) -> None:
    assert clean_question(question)[1] == lang


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "empty question"),
        ("   \n\t ", "empty question"),
        ("\x01\x02\x1b", "empty question"),
        ("\x00\x01\x02", "binary data"),
        ("负向一体化\udcff", "not UTF-8"),
        ("贸易" * 10_000, "too long"),
        ("Что такое негативная интеграция?", "Chinese or English"),
        ("12345 ???", "Chinese or English"),
    ],
)
def test_bad_questions_are_refused_with_one_line(question: str, message: str) -> None:
    with pytest.raises(QuestionError, match=message) as err:
        clean_question(question)
    assert "\n" not in str(err.value)


def test_answer_cites_the_matching_paragraph(engine: Engine) -> None:
    answer = engine.ask("负向一体化是指什么？")
    assert answer.answerable
    assert answer.citations[0].paragraph.ref == "alpha-2020:p1"
    assert all(quote_is_verified(c.quote, c.paragraph.text) for c in answer.citations)
    assert "[1]" in answer.text
    assert answer.passages[0].paragraph.ref == "alpha-2020:p1"


def test_record_matches_schema(engine: Engine) -> None:
    answer = engine.ask("多哈回合谈判什么时候开始？")
    record = answer_record(answer, engine.documents, "q1")
    assert schema_problems(record) == []
    assert record["id"] == "q1" and record["lang"] == "zh"
    assert len(record["passages"]) == 5
    assert set(record["timings_ms"]) >= {"embed", "search", "compose", "total"}


def test_abstains_below_threshold_but_lists_passages(engine: Engine) -> None:
    strict = Engine(
        engine.settings, engine.embedder, engine.index, policy=AbstentionPolicy({"zh": 0.99, "en": 0.99})
    )
    for question, phrase in [
        ("足球比赛的规则是什么？", "没有找到"),
        ("How do I bake bread?", "does not appear"),
    ]:
        answer = strict.ask(question)
        assert not answer.answerable and answer.citations == ()
        assert phrase in answer.text
        assert len(answer.passages) == 5
        assert schema_problems(answer_record(answer, strict.documents)) == []


def test_document_filter(engine: Engine) -> None:
    answer = engine.ask("负向一体化", doc_ids=["beta-2023"])
    assert {h.paragraph.doc_id for h in answer.passages} == {"beta-2023"}


def test_english_question_gets_english_framing(engine: Engine) -> None:
    answer = engine.ask("negative integration")
    assert answer.lang == "en"
    assert answer.text.startswith(("The corpus says", "From"))


def test_ask_many_matches_ask(engine: Engine) -> None:
    questions = ["负向一体化是指什么？", "协商一致的问题"]
    many = engine.ask_many(questions)
    assert [a.citations[0].paragraph.ref for a in many] == [
        engine.ask(q).citations[0].paragraph.ref for q in questions
    ]


def test_neighbours(engine: Engine) -> None:
    before, after = engine.neighbours("alpha-2020:p2")
    assert [p.ref for p in before] == ["alpha-2020:p1"]
    assert [p.ref for p in after] == ["alpha-2020:p3"]


def test_units_rank_by_their_windows_and_quote_from_their_best_sentence(engine: Engine) -> None:
    question = "任何一方都可以行使否决权"
    answer = engine.ask(question)
    hit = answer.passages[0]
    assert hit.paragraph.ref == "beta-2023:p2"
    # the best slice is the sentence alone, and it is what the quote is chosen from ...
    assert hit.chunk is not None and hit.chunk.sentence and hit.chunk.text == "任何一方都可以行使否决权。"
    assert answer.citations[0].quote == hit.chunk.text
    # ... but the unit's dense score is its best window's, the score the abstention bars were fitted on
    window = next(c for c in engine.index.chunks if c.ref == hit.paragraph.ref and not c.sentence)
    title = chunk_title(engine.documents[hit.paragraph.doc_id], hit.paragraph)
    vectors = engine.embedder.encode_documents([window.text, hit.chunk.text], [title, title])
    query = engine.embedder.encode_queries([question])[0]
    window_score, sentence_score = (vectors @ query).tolist()
    assert hit.scores["dense"] == pytest.approx(window_score, abs=1e-4) and sentence_score > window_score
