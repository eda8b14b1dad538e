"""The reader measured: every eval set answered with and without it, side by side.

    python bench/reader.py                      # all sets; writes bench/reader-report.{md,json}
    python bench/reader.py --sets short --limit 10 --out /tmp/reader-smoke

The judge bar is fitted on FIT_SETS only (answered with the reader) and then applied, unchanged, to
the other sets: the sets written blind are never fitted on. The decision to ship the bar was fixed
before the blind sets were read: ship it when, on the check sets taken together, the weighted error
(4 x false-abstention rate + wrong-answer rate, per language, summed) is lower with it than without.
Latencies are per job (read = judge + select, render) as measured in this run; the machine load is
recorded beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answer import evals
from assistant.answer.calibrate import FALSE_ABSTENTION_COST, Sample, fit_judge
from assistant.answer.reader.local import LlamaReader
from assistant.answer.reader.prompts import PROMPT_VERSION
from assistant.answer.reading import needs_rendering, reader_id
from assistant.engine import Engine
from assistant.index.reader_model import reader_file
from assistant.records import Answer
from assistant.settings import SOURCE_ROOT, Settings

FIT_SETS = ("questions", "holdout")
CHECK_SETS = ("short", "holdout2", "holdout3", "holdout4")
METRICS = ("rank1", "first_citation", "quote_has_gold", "abstention_recall", "false_abstention")


def answer_pairs(engine: Engine, items: list[evals.EvalItem], log) -> list[tuple[Answer, Answer]]:
    """(without reader, with reader) for every item; the reader's judge is not yet gated."""
    out = []
    for i, item in enumerate(items, 1):
        plain = engine.ask(item.question, k=10, use_reader=False)
        read = engine.ask(item.question, k=10)
        out.append((plain, read))
        if i % 10 == 0:
            log(f"  {i}/{len(items)}")
    return out


def gated(answer: Answer, policy, reader: str) -> Answer:
    """The reader-mode answer once the fitted judge bar is applied (declined: no citations)."""
    if answer.answerable and not policy.answers(answer.lang, answer.evidence, reader):
        return replace(answer, answerable=False, citations=())
    return answer


def weighted_error(results: list[evals.ItemResult]) -> float:
    total = 0.0
    for lang in ("zh", "en"):
        m = evals.metrics(r for r in results if r.item.lang == lang)
        total += FALSE_ABSTENTION_COST * m.get("false_abstention", 0.0) + (
            1 - m.get("abstention_recall", 1.0)
        )
    return total


def rendering_share(answers: list[Answer]) -> tuple[int, int]:
    """(English answers over Chinese quotes that carry a rendering, all such answers)."""
    need = [
        a for a in answers if a.answerable and a.citations and needs_rendering(a.lang, a.citations[0].quote)
    ]
    return sum(bool(a.citations[0].rendering) for a in need), len(need)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="*", default=[*FIT_SETS, *CHECK_SETS])
    parser.add_argument("--limit", type=int, default=0, help="at most this many questions per set")
    parser.add_argument(
        "--fit-limit",
        type=int,
        default=0,
        help="at most this many questions of each fit set (a spread sample)",
    )
    parser.add_argument("--out", type=Path, default=SOURCE_ROOT / "bench" / "reader-report")
    args = parser.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    settings = Settings.from_env()
    reader = LlamaReader(reader_file(settings.cache_dir), threads=settings.threads)
    engine = Engine.open(settings, reader=reader)
    # Answer with the similarity bars alone, so a bar fitted here is not stacked on the shipped one.
    engine.policy = replace(engine.policy, min_judge={}, judge_reader="")
    rid = reader_id(reader)
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.time()
    runs: dict[str, tuple[list[evals.EvalItem], list[tuple[Answer, Answer]]]] = {}
    for name in args.sets:
        items = evals.load_items(SOURCE_ROOT / "evals" / f"{name}.jsonl")
        items = items[: args.limit] if args.limit else items
        if args.fit_limit and name in FIT_SETS and len(items) > args.fit_limit:
            step = len(items) / args.fit_limit  # every n-th question: both languages, all kinds
            items = [items[int(i * step)] for i in range(args.fit_limit)]
        log(f"{name}: {len(items)} questions")
        runs[name] = (items, answer_pairs(engine, items, log))
    fit = [
        Sample.of(item.lang, item.answerable, read.evidence)
        for name in FIT_SETS
        if name in runs
        for item, (_, read) in zip(*runs[name], strict=True)
    ]
    policy = fit_judge(fit, engine.policy, rid) if fit else engine.policy
    report: dict[str, object] = {
        "reader": rid,
        "model_file": str(reader_file(settings.cache_dir).name),
        "prompt_version": PROMPT_VERSION,
        "min_judge": policy.min_judge,
        "fitted_on": {n: len(runs[n][0]) for n in FIT_SETS if n in runs},
        "threads": settings.threads,
        "load_before": load_before,
        "sets": {},
    }
    check_plain: list[evals.ItemResult] = []
    check_read: list[evals.ItemResult] = []
    for name, (items, pairs) in runs.items():
        plain = [evals.score_item(i, p) for i, (p, _) in zip(items, pairs, strict=True)]
        read_answers = [gated(r, policy, rid) for _, r in pairs]
        read = [evals.score_item(i, a) for i, a in zip(items, read_answers, strict=True)]
        if name in CHECK_SETS:
            check_plain += plain
            check_read += read
        reads = [r.reader.timings_ms["read"] for _, r in pairs if r.reader and "read" in r.reader.timings_ms]
        renders = [
            r.reader.timings_ms["render"] for _, r in pairs if r.reader and "render" in r.reader.timings_ms
        ]
        rendered, need = rendering_share(read_answers)
        report["sets"][name] = {  # type: ignore[index]
            "n": len(items),
            "without": {
                lang: evals.metrics(r for r in plain if r.item.lang == lang) for lang in ("zh", "en")
            },
            "with": {lang: evals.metrics(r for r in read if r.item.lang == lang) for lang in ("zh", "en")},
            "rendered": [rendered, need],
            "read_ms": {"n": len(reads), "p50": percentile(reads, 0.5), "p95": percentile(reads, 0.95)},
            "render_ms": {
                "n": len(renders),
                "p50": percentile(renders, 0.5),
                "p95": percentile(renders, 0.95),
            },
            "notices": sum(bool(r.reader and r.reader.notice) for _, r in pairs),
        }
    if check_plain:
        report["check"] = {
            "weighted_error_without": weighted_error(check_plain),
            "weighted_error_with": weighted_error(check_read),
            "without": {
                lang: evals.metrics(r for r in check_plain if r.item.lang == lang) for lang in ("zh", "en")
            },
            "with": {
                lang: evals.metrics(r for r in check_read if r.item.lang == lang) for lang in ("zh", "en")
            },
            "all_without": evals.metrics(check_plain),
            "all_with": evals.metrics(check_read),
        }
    report["seconds"] = round(time.time() - started)
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    args.out.with_suffix(".json").write_text(
        json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    args.out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    log(f"wrote {args.out}.md and .json")
    return 0


def _fmt(v: object) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def markdown(report: dict) -> str:
    lines = [
        "# Reader benchmark",
        "",
        f"Reader `{report['reader']}`; judge bar {report['min_judge']} fitted on {report['fitted_on']};",
        f"{report['threads']} threads; load average {report['load_before']} before,",
        f"{report['load_after']} after;",
        f"{report['seconds']} s in all. `python bench/reader.py` regenerates it.",
        "",
        "| set | lang | mode | " + " | ".join(METRICS) + " |",
        "|---|---|---|" + "---|" * len(METRICS),
    ]
    for name, data in report["sets"].items():
        for lang in ("zh", "en"):
            for mode in ("without", "with"):
                m = data[mode][lang]
                lines.append(
                    f"| {name} | {lang} | {mode} | " + " | ".join(_fmt(m.get(k)) for k in METRICS) + " |"
                )
    lines += [
        "",
        "| set | rendered / needed | read p50 / p95 ms | render p50 / p95 ms | notices |",
        "|---|---|---|---|---|",
    ]
    for name, data in report["sets"].items():
        r, n = data["rendered"]
        rd, rn = data["read_ms"], data["render_ms"]
        lines.append(
            f"| {name} | {r} / {n} | {_fmt(rd['p50'])} / {_fmt(rd['p95'])} "
            f"| {_fmt(rn['p50'])} / {_fmt(rn['p95'])} | {data['notices']} |"
        )
    check = report.get("check")
    if check:
        lines += [
            "",
            "Check sets (short + holdout2-4, never fitted for the judge) taken together:",
            "",
            "| mode | lang | " + " | ".join(METRICS) + " |",
            "|---|---|" + "---|" * len(METRICS),
        ]
        for mode in ("without", "with"):
            for lang in ("zh", "en"):
                m = check[mode][lang]
                lines.append(f"| {mode} | {lang} | " + " | ".join(_fmt(m.get(k)) for k in METRICS) + " |")
        lines += [
            "",
            f"Weighted error (4 x false abstention + missed abstention, zh + en): without "
            f"{check['weighted_error_without']:.3f}, with {check['weighted_error_with']:.3f}.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
