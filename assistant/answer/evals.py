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


COLUMNS = (
    "n",
    "rank1",
    "top3",
    "top5",
    "mrr10",
    "ndcg10",
    "first_citation",
    "quote_has_gold",
    "false_abstention",
    "abstention_recall",
    "abstention_precision",
    "quote_exact",
    "latency_p50_ms",
    "latency_p95_ms",
)


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


def check_thresholds(
    table: dict[str, dict[str, float]], thresholds: dict[str, dict[str, float]]
) -> list[str]:
    """Every metric below its committed minimum (or above its maximum for ``max_*`` keys)."""
    problems = []
    for group, limits in thresholds.items():
        got = table.get(group, {})
        for key, limit in limits.items():
            metric = key.removeprefix("max_")
            value = got.get(metric)
            if value is None:
                problems.append(f"{group}.{metric}: not measured")
            elif key.startswith("max_") and value > limit:
                problems.append(f"{group}.{metric} = {value:.3f} > {limit}")
            elif not key.startswith("max_") and value < limit:
                problems.append(f"{group}.{metric} = {value:.3f} < {limit}")
    return problems
