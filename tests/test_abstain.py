"""The abstention policy: its rule, calibration on labelled samples, and the stored calibration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.abstain import AbstentionPolicy, load_policy, write_policy
from assistant.answer.calibrate import Sample, calibrate, cross_validate

POLICY = AbstentionPolicy(
    min_dense={"zh": 0.5, "en": 0.4},
    clear_margin={"zh": 0.2, "en": 0.1},
    margin_floor={"zh": 0.3, "en": 0.2},
    min_support={"zh": 0.6, "en": 0.3},
)


@pytest.mark.parametrize(
    ("lang", "dense", "lead", "support", "answers"),
    [
        ("zh", 0.55, 0.0, 1.0, True),  # above the bar
        ("zh", 0.45, 0.0, 1.0, False),  # below the bar, no lead
        ("zh", 0.45, 0.25, 1.0, True),  # clear lead above the floor
        ("zh", 0.25, 0.25, 1.0, False),  # clear lead but under the floor
        ("zh", 0.90, 0.5, 0.5, False),  # on topic, but the fact asked for is not stated
        ("zh", 0.90, 0.5, 0.6, True),
        ("en", 0.42, 0.0, 0.3, True),  # English bars are its own
        ("en", 0.42, 0.0, 0.2, False),
        ("fr", 0.99, 1.0, 1.0, True),  # unknown language: uncalibrated bars never abstain
    ],
)
def test_decide(lang: str, dense: float, lead: float, support: float, answers: bool) -> None:
    assert POLICY.decide(lang, dense, lead, support) is answers


def _samples() -> list[Sample]:
    """Answerable questions score 0.6-0.8, unanswerable 0.2-0.4; two on-topic unanswerables score
    high but lack the fact asked for (support 0)."""
    out = []
    for lang in ("zh", "en"):
        out += [Sample(lang, True, 0.6 + 0.02 * i, 0.05, 1.0) for i in range(10)]
        out += [Sample(lang, False, 0.2 + 0.02 * i, 0.05, 1.0) for i in range(10)]
        out += [Sample(lang, False, 0.75, 0.05, 0.0), Sample(lang, False, 0.7, 0.05, 0.2)]
        out += [Sample(lang, True, 0.7, 0.05, 0.9)]
    return out


def test_calibration_separates_scores_and_uses_the_support_gate() -> None:
    policy, report = calibrate(_samples())
    for lang in ("zh", "en"):
        assert 0.38 <= policy.min_dense[lang] <= 0.6
        assert 0.2 < policy.min_support[lang] <= 0.9
        assert report[lang]["abstention_recall"] == 1.0
        assert report[lang]["false_abstention"] == 0.0


def test_without_the_gate_on_topic_unanswerables_are_answered() -> None:
    policy, report = calibrate(_samples(), supports=(0.0,))
    assert policy.min_support == {"zh": 0.0, "en": 0.0}
    assert report["zh"]["abstention_recall"] < 1.0


def test_cross_validation_reports_each_language() -> None:
    cv = cross_validate(_samples())
    assert set(cv) == {"zh", "en"}
    assert all(0.0 <= m["abstention_recall"] <= 1.0 for m in cv.values())


def test_written_policy_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "calibration.toml"
    write_policy("model-a", POLICY, "a note", path)
    write_policy("model-b", AbstentionPolicy(), "other", path)
    loaded = load_policy("model-a", path)
    assert (loaded.min_dense, loaded.clear_margin, loaded.margin_floor, loaded.min_support) == (
        POLICY.min_dense,
        POLICY.clear_margin,
        POLICY.margin_floor,
        POLICY.min_support,
    )
    assert load_policy("model-b", path).min_support == {"zh": 0.0, "en": 0.0}


def test_an_unknown_model_is_uncalibrated_and_never_abstains(tmp_path: Path) -> None:
    policy = load_policy("unknown", tmp_path / "missing.toml")
    assert policy.source == "uncalibrated"
    assert policy.decide("zh", 0.0, 0.0, 0.0) is True
