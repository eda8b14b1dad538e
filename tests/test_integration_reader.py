"""The real reader (Qwen2.5-Coder-1.5B GGUF through llama.cpp) over the real corpus. Slow: ``integration``.

Skipped on a machine without the reader model or llama-cpp-python, except in CI, where the set-up
installs both and their absence is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

from assistant.answer.compose import quote_is_verified
from assistant.answer.reader.local import LlamaReader
from assistant.answer.reading import sentences_of
from assistant.answer.record import answer_record, schema_problems
from assistant.engine import Engine, Settings, build
from assistant.index.reader_model import is_reader_verified, reader_file, verify_reader

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reader() -> LlamaReader:
    path = reader_file(Settings.from_env().cache_dir)
    missing = [
        what
        for what, ok in (
            ("the reader model (assistant models fetch)", is_reader_verified(path)),
            ("llama-cpp-python (scripts/setup.sh)", importlib.util.find_spec("llama_cpp") is not None),
        )
        if not ok
    ]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {', '.join(missing)}")
        pytest.skip(f"not installed: {', '.join(missing)}")
    return LlamaReader(path, threads=os.cpu_count() or 2)


@pytest.fixture(scope="module")
def engine(reader, tmp_path_factory) -> Engine:
    settings = Settings(corpus_dir=ROOT / "corpus", index_dir=tmp_path_factory.mktemp("index"))
    build(settings)
    return Engine.open(settings, reader=reader)


def test_the_installed_reader_model_matches_its_official_digest(reader: LlamaReader) -> None:
    verify_reader(reader_file(Settings.from_env().cache_dir), full=True)


def test_an_english_question_over_chinese_evidence_gets_an_english_rendering(engine: Engine) -> None:
    answer = engine.ask("What does negative integration mean?")
    assert answer.answerable and answer.reader is not None and not answer.reader.notice
    first = answer.citations[0]
    assert first.paragraph.ref == "xu-geng-2021:p13"
    assert quote_is_verified(first.quote, first.paragraph.text)
    assert first.rendering and not re.search(r"[\u4e00-\u9fff]", first.rendering)
    assert "negative integration" in first.rendering.lower()
    assert schema_problems(answer_record(answer, engine.documents)) == []


def test_the_judge_prefers_a_passage_that_answers(engine: Engine, reader: LlamaReader) -> None:
    """Read directly (the engine skips questions its retrieval rule already declines)."""

    def judged(question: str) -> float:
        top = engine.ask(question, use_reader=False).passages[0]
        return reader.read(question, sentences_of(top)).answers

    assert judged("什么是负向一体化？") > judged("现任WTO总干事是谁？")


def test_the_same_question_gives_the_same_reading(engine: Engine) -> None:
    a, b = engine.ask("协商一致决策方式有什么缺陷？"), engine.ask("协商一致决策方式有什么缺陷？")
    assert (a.evidence.judge, a.reader.selected if a.reader else None) == (
        b.evidence.judge,
        b.reader.selected if b.reader else None,
    )


def test_a_paragraph_longer_than_the_context_is_refused_in_one_line(reader: LlamaReader) -> None:
    from assistant.errors import ReaderError

    with pytest.raises(ReaderError, match="too long") as err:
        reader.read("什么是负向一体化？", ["负向一体化是指消除歧视性的贸易壁垒。"] * 2000)
    assert "\n" not in str(err.value)
