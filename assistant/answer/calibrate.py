"""The calibration fit: choose the abstention rule's bars from evaluated questions.

``calibrate`` picks, per language, the dense bar, the clear margin, its floor and the support gate
that minimise a weighted error on answerable vs unanswerable questions; ``cross_validate`` gives
the held-out estimate. Each question enters as a :class:`Sample` of the features
:mod:`assistant.answer.evidence` computed for it, the same ones the rule decides on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.answer.abstain import AbstentionPolicy, write_policy
from assistant.answer.evals import ItemResult
from assistant.records import Evidence

# Missing an answer costs less than citing text that does not answer: a false
# abstention is weighted this many times a wrongly answered unanswerable question.
FALSE_ABSTENTION_COST = 4.0
CV_REPEATS = 10


@dataclass(frozen=True)
class Sample:
    """One evaluated question: its language, whether it is answerable, and its score features."""

    lang: str
    answerable: bool
    top_dense: float
    lead: float
    support: float = 1.0
    judge: float | None = None

    @classmethod
    def of(cls, lang: str, answerable: bool, evidence: Evidence) -> Sample:
        """A sample from the features the engine's verdict was decided on."""
        return cls(lang, answerable, evidence.top_dense, evidence.lead, evidence.support, evidence.judge)


def _rates(samples: Sequence[Sample], policy: AbstentionPolicy) -> dict[str, dict[str, float]]:
    """Abstention recall and false-abstention rate of ``policy`` per language."""
    out = {}
    for lang in sorted({s.lang for s in samples}):
        group = [s for s in samples if s.lang == lang]
        pos = [_answered(policy, s) for s in group if s.answerable]
        neg = [_answered(policy, s) for s in group if not s.answerable]
        out[lang] = {
            "abstention_recall": sum(not a for a in neg) / len(neg) if neg else 1.0,
            "false_abstention": sum(not a for a in pos) / len(pos) if pos else 0.0,
            "n": float(len(group)),
        }
    return out


def _answered(policy: AbstentionPolicy, s: Sample) -> bool:
    """The policy's verdict on one sample, its judge bar included when it has one."""
    return policy.decide(s.lang, s.top_dense, s.lead, s.support) and policy.passes_judge(
        s.lang, s.judge, policy.judge_reader
    )


SUPPORT_GRID = tuple(round(0.05 * i, 2) for i in range(21))


def _choose_among_ties(cost: np.ndarray) -> tuple[int, int, int, int]:
    """Index [support, bar, margin, floor] among the minimum-cost settings: the middle one in
    array order, with its floor then raised to the top of the floors tied with it.

    The floor exists to stop a question that matches nothing well (everything low, one unit by
    chance a little less low) from passing on its lead, and no calibration set has many such
    questions, so its tied range runs down to the grid's bottom; its top is the value the set
    supports. (Taking the middle of every parameter's tied range instead was tried: a similar
    cross-validated estimate, 8 more weighted errors on the two blind sets; evals/README.md.)
    """
    tied = np.argwhere(np.isclose(cost, cost.min()))
    t, b, m, _ = (int(i) for i in tied[len(tied) // 2])
    same = tied[(tied[:, 0] == t) & (tied[:, 1] == b) & (tied[:, 2] == m)]
    return t, b, m, int(same[:, 3].max())


def _fit_language(
    group: Sequence[Sample], supports: Sequence[float] = SUPPORT_GRID
) -> tuple[float, float, float, float]:
    """(bar, margin, floor, support) minimising the weighted error on one language (ties:
    ``_choose_among_ties``)."""
    dense = np.array([s.top_dense for s in group])
    lead = np.array([s.lead for s in group])
    support = np.array([s.support for s in group])
    pos = np.array([s.answerable for s in group])
    n_pos, n_neg = max(1, int(pos.sum())), max(1, int((~pos).sum()))
    bars = np.round(np.arange(0.10, 0.805, 0.005), 3)
    margins = np.round(np.append(np.arange(0.05, 0.505, 0.01), 1.0), 2)
    floors = np.round(np.arange(0.10, 0.805, 0.02), 2)
    # cost = FALSE_ABSTENTION_COST × false abstentions / n_pos + wrong answers / n_neg
    #      = FALSE_ABSTENTION_COST + Σ_i gain_i · answered_i, where before the support gate
    # answered_i = by_bar_i + (1 - by_bar_i) · by_lead_i · by_floor_i; so the sum over questions
    # is one matrix product per support value instead of a [bar, margin, floor, question] mask.
    gain = np.where(pos, -FALSE_ABSTENTION_COST / n_pos, 1.0 / n_neg)
    by_bar = (dense[:, None] >= bars[None, :]).astype(float)  # [i, b]
    by_lead = (lead[:, None] >= margins[None, :]).astype(float)  # [i, m]
    by_floor = (dense[:, None] >= floors[None, :]).astype(float)  # [i, f]
    costs = []
    for t in supports:
        g = gain * (support >= t)
        via_bar = g @ by_bar  # [b]
        below_bar = ((g[:, None] * (1.0 - by_bar))[:, :, None] * by_lead[:, None, :]).reshape(len(g), -1)
        via_margin = (below_bar.T @ by_floor).reshape(len(bars), len(margins), len(floors))
        costs.append(FALSE_ABSTENTION_COST + via_bar[:, None, None] + via_margin)
    cost = np.stack(costs)  # [t, b, m, f]
    t, b, m, f = _choose_among_ties(cost)
    return float(bars[b]), float(margins[m]), float(floors[f]), float(supports[t])


def calibrate(
    samples: Sequence[Sample], supports: Sequence[float] = SUPPORT_GRID
) -> tuple[AbstentionPolicy, dict[str, dict[str, float]]]:
    """Choose each language's bar, margin, floor and support gate (from ``supports``) to minimise
    the weighted error on ``samples``."""
    fitted = {
        lang: _fit_language([s for s in samples if s.lang == lang], supports)
        for lang in sorted({s.lang for s in samples})
    }
    policy = AbstentionPolicy(
        {k: v[0] for k, v in fitted.items()},
        {k: v[1] for k, v in fitted.items()},
        {k: v[2] for k, v in fitted.items()},
        {k: v[3] for k, v in fitted.items()},
        "calibrated",
    )
    return policy, _rates(samples, policy)


def cross_validate(
    samples: Sequence[Sample],
    folds: int = 2,
    supports: Sequence[float] = SUPPORT_GRID,
    repeats: int = 1,
) -> dict[str, dict[str, float]]:
    """Out-of-sample estimate: calibrate on all folds but one, measure on the held-out fold, pool.

    With ``repeats`` > 1 the folds are drawn ``repeats`` times from seeded shuffles and all
    held-out decisions are pooled: one split of a small set swings the estimate by several points.
    """
    pooled: dict[str, list[tuple[bool, bool]]] = {}
    for r in range(repeats):
        order = list(range(len(samples))) if r == 0 else np.random.default_rng(r).permutation(len(samples))
        shuffled = [samples[i] for i in order]
        for f in range(folds):
            train = [s for i, s in enumerate(shuffled) if i % folds != f]
            test = [s for i, s in enumerate(shuffled) if i % folds == f]
            policy, _ = calibrate(train, supports)
            for s in test:
                answered = policy.decide(s.lang, s.top_dense, s.lead, s.support)
                pooled.setdefault(s.lang, []).append((s.answerable, answered))
    out = {}
    for lang, rows in pooled.items():
        pos = [a for ans, a in rows if ans]
        neg = [a for ans, a in rows if not ans]
        out[lang] = {
            "abstention_recall": sum(not a for a in neg) / len(neg) if neg else 1.0,
            "false_abstention": sum(not a for a in pos) / len(pos) if pos else 0.0,
        }
    return out


def calibrate_from(
    results: Sequence[ItemResult], model_name: str, sources: Sequence[str], path: Path
) -> tuple[AbstentionPolicy, str]:
    """Fit the bars on evaluated questions, estimate them held out, and write them to ``path``.

    Returns the policy and the note stored with it (in-sample rates and the held-out estimate).
    """
    samples = [Sample.of(r.item.lang, r.item.answerable, r.evidence) for r in results]
    policy, report = calibrate(samples)
    counts = ", ".join(
        f"{lang}: {int(m['n'])} questions, abstention recall {m['abstention_recall']:.3f}, "
        f"false abstention {m['false_abstention']:.3f}"
        for lang, m in report.items()
    )
    cv = cross_validate(samples, repeats=CV_REPEATS)
    held_out = ", ".join(
        f"{lang}: recall {m['abstention_recall']:.3f}, false abstention {m['false_abstention']:.3f}"
        for lang, m in cv.items()
    )
    note = (
        f"chosen on {len(samples)} eval questions from {' + '.join(sources)} ({counts}); "
        f"2-fold held-out estimate pooled over {CV_REPEATS} splits: {held_out}"
    )
    write_policy(model_name, policy, note, path)
    return policy, note


JUDGE_GRID = tuple(round(0.02 * i, 2) for i in range(51))


def fit_judge(samples: Sequence[Sample], policy: AbstentionPolicy, reader: str) -> AbstentionPolicy:
    """``policy`` with a judge bar per language added: the bar (from JUDGE_GRID) that minimises the
    weighted error given the policy's other bars, fitted after them (the middle of tied bars)."""
    bars = {}
    for lang in sorted({s.lang for s in samples}):
        group = [s for s in samples if s.lang == lang and s.judge is not None]
        n_pos = max(1, sum(s.answerable for s in group))
        n_neg = max(1, sum(not s.answerable for s in group))
        base = [policy.decide(lang, s.top_dense, s.lead, s.support) for s in group]

        def cost(
            bar: float,
            group: list[Sample] = group,
            base: list[bool] = base,
            n_pos: int = n_pos,
            n_neg: int = n_neg,
        ) -> float:
            answered = [b and (s.judge or 0.0) >= bar for s, b in zip(group, base, strict=True)]
            false_abst = sum(s.answerable and not a for s, a in zip(group, answered, strict=True))
            wrong = sum(not s.answerable and a for s, a in zip(group, answered, strict=True))
            return FALSE_ABSTENTION_COST * false_abst / n_pos + wrong / n_neg

        costs = [cost(b) for b in JUDGE_GRID]
        tied = [b for b, c in zip(JUDGE_GRID, costs, strict=True) if np.isclose(c, min(costs))]
        bars[lang] = tied[len(tied) // 2]
    return replace(policy, min_judge=bars, judge_reader=reader, source="calibrated")


def calibrate_judge(
    results: Sequence[ItemResult],
    policy: AbstentionPolicy,
    reader: str,
    model_name: str,
    sources: Sequence[str],
    path: Path,
) -> tuple[AbstentionPolicy, str]:
    """Fit the reader's judge bar on evaluated questions (answered with the reader), keep the other
    bars of ``policy``, and write the result to ``path``; returns it and its note."""
    samples = [Sample.of(r.item.lang, r.item.answerable, r.evidence) for r in results]
    fitted = fit_judge(samples, policy, reader)
    rates = ", ".join(
        f"{lang}: abstention recall {m['abstention_recall']:.3f}, "
        f"false abstention {m['false_abstention']:.3f}"
        for lang, m in _rates(samples, fitted).items()
    )
    note = f"judge bar for {reader} fitted on {len(samples)} questions from {' + '.join(sources)} ({rates})"
    write_policy(model_name, fitted, note, path)
    return fitted, note
