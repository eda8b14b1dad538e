"""The evaluation suite: run a question set through the engine and measure retrieval and citations.

Gold evidence is a list of exact substrings of cleaned paragraph text (compared
without whitespace), so the set survives re-chunking and renumbering: a unit is
relevant when it contains any gold span.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer.compose import quote_is_verified
from assistant.records import Answer, Evidence, Paragraph
from assistant.text import compact

# The sets `assistant eval --calibrate` pools by default: every set written before the newest blind
# ones (holdout2 to holdout4), which stay out of it as the check on questions nobody fitted to.
CALIBRATION_SETS = ("questions", "short", "holdout")


@dataclass(frozen=True)
class EvalItem:
    """One question of the set with its gold evidence."""

    id: str
    question: str
    lang: str
    answerable: bool
    doc_id: str | None
    evidence: tuple[str, ...]
    tags: frozenset[str] = frozenset()


def load_items(path: Path) -> list[EvalItem]:
    """Read a questions.jsonl evaluation file."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        tags = {d.get("type", "")} | ({"dev20"} if d.get("dev20") else set())
        items.append(
            EvalItem(
                d["id"],
                d["question"],
                d["lang"],
                bool(d["answerable"]),
                d.get("doc_id"),
                tuple(d.get("evidence", ())),
                frozenset(t for t in tags if t),
            )
        )
    return items


def is_relevant(item: EvalItem, paragraph: Paragraph) -> bool:
    """True if the unit belongs to the gold document and contains a gold span."""
    if item.doc_id and paragraph.doc_id != item.doc_id:
        return False
    text = compact(paragraph.text)
    return any(compact(span) in text for span in item.evidence)


@dataclass(frozen=True)
class ItemResult:
    """How one question fared."""

    item: EvalItem
    rank: int | None  # 1-based rank of the first relevant passage, None if not in the list
    answerable: bool
    first_citation_ok: bool
    quotes_ok: bool
    gains: tuple[int, ...]
    latency_ms: float
    evidence: Evidence = field(default_factory=lambda: Evidence(0.0, 0.0, 1.0))
    """The features the verdict was decided on (what calibration fits)."""
    quote_has_gold: bool = False
    cited: tuple[tuple[str, str], ...] = ()
    """(ref, quote) of each citation, in order: what a report shows for a failed question."""
    ranked: tuple[str, ...] = ()
    """Refs of the retrieved passages, best first."""


def score_item(item: EvalItem, answer: Answer) -> ItemResult:
    """Compare one answer with the item's gold evidence."""
    gains = tuple(int(is_relevant(item, h.paragraph)) for h in answer.passages)
    rank = next((i + 1 for i, g in enumerate(gains) if g), None)
    first_ok = bool(answer.citations) and is_relevant(item, answer.citations[0].paragraph)
    quotes_ok = all(quote_is_verified(c.quote, c.paragraph.text) for c in answer.citations)
    evidence = answer.evidence  # the verdict's own features, never recomputed from the passages
    return ItemResult(
        item,
        rank,
        answer.answerable,
        first_ok,
        quotes_ok,
        gains,
        answer.timings_ms.get("total", 0.0),
        evidence,
        first_ok and any(compact(s) in compact(answer.citations[0].quote) for s in item.evidence),
        tuple((c.paragraph.ref, c.quote) for c in answer.citations),
        tuple(h.paragraph.ref for h in answer.passages),
    )


def _ndcg(gains: Sequence[int], k: int = 10) -> float:
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, max(1, sum(gains)))))
    return dcg / ideal if ideal else 0.0


def metrics(results: Iterable[ItemResult]) -> dict[str, float]:
    """Aggregate metrics over a group of results (answerable and unanswerable items)."""
    results = list(results)
    ans = [r for r in results if r.item.answerable]
    unans = [r for r in results if not r.item.answerable]
    out: dict[str, float] = {"n": float(len(results)), "n_answerable": float(len(ans))}
    if ans:
        out["rank1"] = sum(r.rank == 1 for r in ans) / len(ans)
        out["top3"] = sum(r.rank is not None and r.rank <= 3 for r in ans) / len(ans)
        out["top5"] = sum(r.rank is not None and r.rank <= 5 for r in ans) / len(ans)
        out["mrr10"] = sum(1 / r.rank for r in ans if r.rank and r.rank <= 10) / len(ans)
        out["ndcg10"] = sum(_ndcg(r.gains) for r in ans) / len(ans)
        out["first_citation"] = sum(r.first_citation_ok for r in ans) / len(ans)
        out["quote_has_gold"] = sum(r.quote_has_gold for r in ans) / len(ans)
        out["false_abstention"] = sum(not r.answerable for r in ans) / len(ans)
    if unans:
        out["abstention_recall"] = sum(not r.answerable for r in unans) / len(unans)
    abstained = [r for r in results if not r.answerable]
    if abstained:
        out["abstention_precision"] = sum(not r.item.answerable for r in abstained) / len(abstained)
    out["quote_exact"] = sum(r.quotes_ok for r in results) / len(results) if results else 1.0
    lat = sorted(r.latency_ms for r in results)
    if lat:
        out["latency_p50_ms"] = statistics.median(lat)
        out["latency_p95_ms"] = lat[min(len(lat) - 1, math.ceil(0.95 * len(lat)) - 1)]
    return out


def run_eval(
    items: Sequence[EvalItem],
    ask: Callable[[Sequence[str]], list[Answer]],
    batch: int = 16,
) -> list[ItemResult]:
    """Answer every item (in batches) and score it."""
    results: list[ItemResult] = []
    for start in range(0, len(items), batch):
        part = items[start : start + batch]
        for item, answer in zip(part, ask([i.question for i in part]), strict=True):
            results.append(score_item(item, answer))
    return results


def grouped(results: Sequence[ItemResult]) -> dict[str, dict[str, float]]:
    """Metrics for all, per language and per document."""
    groups: dict[str, list[ItemResult]] = {"all": list(results)}
    for r in results:
        groups.setdefault(f"lang={r.item.lang}", []).append(r)
        if r.item.doc_id:
            groups.setdefault(f"doc={r.item.doc_id}", []).append(r)
    return {name: metrics(rs) for name, rs in groups.items()}


@dataclass(frozen=True)
class Metric:
    """How one metric is shown: the words for it, what it measures, and its kind of number."""

    key: str
    label: str
    explain: str
    kind: str  # "count", "rate" (shown as a percentage), "score" (0 to 1) or "ms"


METRICS = (
    Metric("n", "questions", "answerable and unanswerable", "count"),
    Metric("rank1", "right paragraph ranked first", "its first passage holds the gold evidence", "rate"),
    Metric("top3", "right paragraph in top 3", "one of its first 3 passages holds it", "rate"),
    Metric("top5", "right paragraph in top 5", "one of its first 5 passages holds it", "rate"),
    Metric("mrr10", "mean reciprocal rank", "mean of 1/rank of the right passage", "score"),
    Metric("ndcg10", "ranking quality (nDCG@10)", "how high all right passages rank", "score"),
    Metric("first_citation", "first citation is right", "first cited paragraph holds it", "rate"),
    Metric("quote_has_gold", "quote holds the answer", "its first quote holds a gold span", "rate"),
    Metric("false_abstention", "wrongly declined", "declined; lower is better", "rate"),
    Metric("abstention_recall", "unanswerable declined", "of the unanswerable: declined", "rate"),
    Metric("abstention_precision", "declines that were right", "of declines: unanswerable", "rate"),
    Metric("quote_exact", "quotes verbatim", "of all: every quote word for word", "rate"),
    Metric("latency_p50_ms", "time a question, median", "half the questions took less", "ms"),
    Metric("latency_p95_ms", "time a question, 95th pct", "19 questions in 20 took less", "ms"),
)
METRIC = {m.key: m for m in METRICS}
COLUMNS = tuple(m.key for m in METRICS)


def markdown_table(table: dict[str, dict[str, float]]) -> str:
    """The grouped metrics as a Markdown table (one row per group)."""
    lines = ["| group | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, m in table.items():
        cells = []
        for c in COLUMNS:
            v = m.get(c)
            cells.append(
                "-" if v is None else (f"{v:.0f}" if c in ("n",) or c.endswith("_ms") else f"{v:.3f}")
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def failures(results: Sequence[ItemResult]) -> list[dict[str, Any]]:
    """Items that missed: wrong first passage, false abstention or abstention not made."""
    out = []
    for r in results:
        if r.item.answerable and (r.rank != 1 or not r.answerable):
            out.append(
                {"id": r.item.id, "rank": r.rank, "answered": r.answerable, "question": r.item.question}
            )
        elif not r.item.answerable and r.answerable:
            out.append({"id": r.item.id, "rank": None, "answered": True, "question": r.item.question})
    return out


def misses(result: ItemResult) -> list[str]:
    """What one question got wrong, in words (empty when it passed every per-question check)."""
    r, out = result, []
    if r.item.answerable:
        if not r.answerable:
            out.append("declined although the documents answer it")
        if r.rank is None:
            out.append("right paragraph not among the retrieved passages")
        elif r.rank != 1:
            out.append(f"right paragraph ranked {r.rank}, not first")
        if r.answerable and not r.first_citation_ok:
            out.append("first citation is not a right paragraph")
        elif r.answerable and not r.quote_has_gold:
            out.append("first quote does not hold the gold evidence")
    elif r.answerable:
        out.append("answered although the documents cannot answer it")
    if not r.quotes_ok:
        out.append("a quote is not word for word in its paragraph")
    return out


@dataclass(frozen=True)
class Gate:
    """One committed threshold held against its measured value."""

    group: str
    metric: str
    limit: float
    value: float | None  # None: the group has no such measurement
    maximum: bool  # a ``max_`` key: the value must not exceed the limit

    @property
    def passed(self) -> bool:
        """True when the value is measured and on the right side of the limit (the limit itself passes)."""
        if self.value is None:
            return False
        return self.value <= self.limit if self.maximum else self.value >= self.limit

    @property
    def problem(self) -> str:
        """The line ``eval --check`` prints for a failed gate."""
        if self.value is None:
            return f"{self.group}.{self.metric}: not measured"
        return f"{self.group}.{self.metric} = {self.value:.3f} {'>' if self.maximum else '<'} {self.limit}"


def gates(table: dict[str, dict[str, float]], thresholds: dict[str, dict[str, float]]) -> list[Gate]:
    """Every threshold of a thresholds file next to the value it gates, in file order."""
    return [
        Gate(
            group,
            key.removeprefix("max_"),
            limit,
            table.get(group, {}).get(key.removeprefix("max_")),
            key.startswith("max_"),
        )
        for group, limits in thresholds.items()
        for key, limit in limits.items()
    ]


def check_thresholds(
    table: dict[str, dict[str, float]], thresholds: dict[str, dict[str, float]]
) -> list[str]:
    """Every metric below its committed minimum (or above its maximum for ``max_*`` keys)."""
    return [g.problem for g in gates(table, thresholds) if not g.passed]
