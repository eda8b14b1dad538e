"""The evaluation sets are well-formed and their gold evidence sits where each item says.

``questions.jsonl`` is the development set; ``short.jsonl`` (short questions) and ``holdout.jsonl``
to ``holdout4.jsonl`` were written blind, by someone who had read the papers but not the code. The
first three are pooled to calibrate abstention; holdout2 to holdout4 are the blind check.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from assistant.answer.evals import is_relevant, load_items
from assistant.ingest.corpus import load_corpus
from assistant.text import compact

ROOT = Path(__file__).resolve().parent.parent
SETS = ("questions", "short", "holdout", "holdout2", "holdout3", "holdout4")
ITEMS = load_items(ROOT / "evals" / "questions.jsonl")
ALL_ITEMS = [i for name in SETS for i in load_items(ROOT / "evals" / f"{name}.jsonl")]


@pytest.fixture(scope="module")
def units():
    return [p for d in load_corpus(ROOT / "corpus") for p in d.paragraphs]


def test_set_size_and_balance() -> None:
    langs = Counter(i.lang for i in ITEMS)
    assert len(ITEMS) >= 90 and langs["zh"] >= 35 and langs["en"] >= 35
    assert sum(not i.answerable for i in ITEMS) >= 12
    assert len({i.id for i in ALL_ITEMS}) == len(ALL_ITEMS)  # ids are unique across the sets
    dev = [i for i in ITEMS if "dev20" in i.tags]
    assert Counter(i.lang for i in dev) == {"zh": 10, "en": 10}


@pytest.mark.parametrize("name", SETS[1:])
def test_the_blind_sets_hold_both_languages_and_both_outcomes(name: str) -> None:
    items = load_items(ROOT / "evals" / f"{name}.jsonl")
    assert {(i.lang, i.answerable) for i in items} == {
        (lang, a) for lang in ("zh", "en") for a in (True, False)
    }
    assert any("off-topic" in i.tags for i in items) and any("near-domain" in i.tags for i in items)


@pytest.mark.parametrize("item", [i for i in ALL_ITEMS if i.answerable], ids=lambda i: i.id)
def test_every_gold_span_lies_inside_one_unit_of_its_document(item, units) -> None:
    assert item.evidence and item.doc_id
    for span in item.evidence:
        holders = [u.ref for u in units if compact(span) in compact(u.text)]
        assert holders, f"{item.id}: span not found in any cleaned unit: {span}"
        assert all(ref.startswith(item.doc_id + ":") for ref in holders), (
            f"{item.id}: span found in {holders}"
        )
    assert any(is_relevant(item, u) for u in units)


@pytest.mark.parametrize("item", [i for i in ALL_ITEMS if not i.answerable], ids=lambda i: i.id)
def test_unanswerable_items_carry_no_evidence(item) -> None:
    assert item.evidence == () and item.doc_id is None


def test_calibration_pools_the_older_sets_and_leaves_the_newest_blind_ones_out() -> None:
    from assistant.answer.evals import CALIBRATION_SETS

    assert set(CALIBRATION_SETS) == set(SETS) - {"holdout2", "holdout3", "holdout4"}
