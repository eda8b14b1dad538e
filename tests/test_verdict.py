"""`-k` only changes how many passages are listed: never the verdict, the citations or the evidence.

Regression: the verdict's lead over the runner-up used to be computed from the list cut to -k, so
with -k 1 there was no runner-up and every question passed on a default lead of 1.0.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.abstain import AbstentionPolicy
from assistant.engine import Engine
from assistant.index.embedder import HashingEmbedder
from assistant.index.store import build_index, load_index
from assistant.ingest.corpus import load_corpus
from assistant.settings import SOURCE_ROOT, Settings

SAMPLE_CORPUS = SOURCE_ROOT / "corpus"
# Bars that make all three outcomes occur on the sample corpus with the hashing embedder: the dense
# bar is out of reach, so only a clear lead answers, and the lead is what -k used to change.
POLICY = AbstentionPolicy(
    min_dense={"zh": 0.99, "en": 0.99},
    clear_margin={"zh": 0.03, "en": 0.03},
    margin_floor={"zh": 0.0, "en": 0.0},
    min_support={"zh": 0.5, "en": 0.5},
)

QUESTIONS = [
    ("什么是负向一体化？", "answerable"),
    ("协商一致决策方式有什么缺陷？", "answerable"),
    ("What does negative integration mean?", "answerable"),
    ("现任WTO总干事是谁？", "near-domain"),
    ("How many parties are there to the GPA?", "near-domain"),
    ("谁发明了电灯泡？", "off-topic"),
    ("How do I descale an espresso machine?", "off-topic"),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    index_dir = tmp_path_factory.mktemp("verdict") / "index"
    embedder = HashingEmbedder(256)
    build_index(load_corpus(SAMPLE_CORPUS), embedder, index_dir, "sample")
    settings = Settings(corpus_dir=SAMPLE_CORPUS, index_dir=index_dir)
    return Engine(settings, embedder, load_index(index_dir), policy=POLICY)


@pytest.mark.parametrize(("question", "kind"), QUESTIONS)
def test_the_same_verdict_for_every_k(engine: Engine, question: str, kind: str) -> None:
    reference = engine.ask(question, k=10)
    for k in range(1, 11):
        answer = engine.ask(question, k=k)
        assert answer.answerable == reference.answerable, f"k={k} flips the verdict on {kind} {question!r}"
        assert answer.evidence == reference.evidence, f"k={k}"
        assert answer.citations == reference.citations, f"k={k}"
        assert answer.text == reference.text, f"k={k}"
        assert answer.passages == reference.passages[:k], f"k={k}"


def test_the_policy_sees_both_outcomes(engine: Engine) -> None:
    """Without both answered and declined questions the test above could not catch a flip."""
    verdicts = {engine.ask(q, k=1).answerable for q, _ in QUESTIONS}
    assert verdicts == {True, False}


def test_a_lone_candidate_has_no_lead(tmp_path: Path) -> None:
    """With one unit in the corpus there is no runner-up: the lead is 0, only the dense bar passes."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "solo-2020.txt").write_text(
        "一、概念\n\n负向一体化是指消除歧视性的贸易壁垒。\n", encoding="utf-8"
    )
    (corpus / "solo-2020.toml").write_text('doc_id = "solo-2020"\ntitle = "独篇"\nyear = 2020\n', "utf-8")
    embedder = HashingEmbedder(64)
    build_index(load_corpus(corpus), embedder, tmp_path / "index", "solo")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    engine = Engine(settings, embedder, load_index(tmp_path / "index"), policy=POLICY)
    answer = engine.ask("什么是负向一体化？", k=1)
    assert answer.evidence.lead == 0.0
    assert not answer.answerable
