"""``assistant eval``: run a question set, show a readable summary, gate on thresholds, write a report.

Exit codes (``scripts/test.sh`` depends on them): 0, 1 when ``--check`` finds a metric on the wrong
side of its threshold, 2 for unusable arguments or a missing thresholds file with ``--check``.
Only the standard library is imported at module level: the CLI imports this module for every command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import EXIT_BAD_INPUT, UsageError
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.answer.evals import ItemResult
    from assistant.apps.progress import Tracker
    from assistant.engine import Engine
    from assistant.records import Answer

    Ask = Callable[[Sequence[str]], list[Answer]]


def _err(message: str) -> None:
    print(f"assistant: error: {message}", file=sys.stderr)


def thresholds_path(questions: Path) -> Path:
    """Where the minimums for a question file live: ``thresholds.toml`` for the main set
    (``questions.jsonl``), ``<name>.thresholds.toml`` beside any other."""
    if questions.stem == "questions":
        return questions.with_name("thresholds.toml")
    return questions.with_name(f"{questions.stem}.thresholds.toml")


def load_thresholds(path: Path) -> dict[str, dict[str, float]] | None:
    """The thresholds file as ``{group: {metric: limit}}``, or None when there is none."""
    import tomllib

    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the thresholds ({exc}); fix or remove the file") from None


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _counted(ask: Ask, steps: Tracker, total: int) -> Ask:
    """``ask`` telling ``steps`` how many of ``total`` questions are answered after each batch."""
    done = 0

    def counted(questions: Sequence[str]) -> list[Answer]:
        nonlocal done
        answers = ask(questions)
        done += len(questions)
        steps.count(done, total)
        return answers

    return counted


def cmd_eval(args: argparse.Namespace) -> int:
    """``assistant eval``: see the module docstring for the exit codes."""
    from assistant.answer import evals
    from assistant.answer.evals import CALIBRATION_SETS

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    paths = args.questions
    if not paths:
        if settings.evals_dir is None:
            _err("no question set here (this is not a source checkout): give one with --questions FILE")
            return EXIT_BAD_INPUT
        names = CALIBRATION_SETS if args.calibrate else ("questions",)
        paths = [settings.evals_dir / f"{name}.jsonl" for name in names]
    if len(paths) > 1 and not args.calibrate:
        _err("give one --questions file (several only with --calibrate, which pools them)")
        return EXIT_BAD_INPUT
    path = paths[0]
    items = [item for p in paths for item in evals.load_items(p)]
    if args.subset:
        items = [i for i in items if args.subset in i.tags]
    if not items:
        _err(
            f"no questions in {', '.join(str(p) for p in paths)}"
            + (f" tagged {args.subset!r}" if args.subset else "")
        )
        return EXIT_BAD_INPUT
    # Thresholds and the report folder are checked before the model loads: a run takes minutes.
    limits_path = thresholds_path(path)
    limits = None if args.calibrate else load_thresholds(limits_path)
    if args.check and not args.calibrate and limits is None:
        _err(f"no thresholds for {path.name}: expected {limits_path}")
        return EXIT_BAD_INPUT
    if args.report and not args.report.parent.is_dir():
        _err(f"--report {args.report}: no folder {args.report.parent}; create it or write elsewhere")
        return EXIT_BAD_INPUT

    from assistant.answer.reading import reader_id
    from assistant.apps.progress import spinner, track
    from assistant.engine import Engine

    # Progress goes to stderr and vanishes (a terminal) or is a line now and then (a log): the
    # report on stdout stays what it was.
    with spinner("loading the model and the index"):
        engine = Engine.open(settings, embedder=args.embedder, reader="default" if args.reader else None)
        engine.load()  # before the bar, so its rate and time left count answering only
    if args.reader and engine.reader is None:
        _err(f"--reader: no reader is available ({engine.reader_hint or 'ASSISTANT_READER=none'})")
        return EXIT_BAD_INPUT
    with track("answering", "questions") as steps:
        results = evals.run_eval(
            items, _counted(lambda qs: engine.ask_many(qs, k=10, use_reader=False), steps, len(items))
        )
        read = None
        if args.reader:
            steps.restart("answering with the reader")
            read = evals.run_eval(items, _counted(lambda qs: engine.ask_many(qs, k=10), steps, len(items)))
    if args.calibrate:
        return _calibrate(args, settings, engine, paths, results, read)

    from rich.console import Console
    from rich.text import Text

    from assistant.apps.eval_view import (
        Run,
        group_title,
        ordered_groups,
        print_summary,
        report_markdown,
        terminal_text,
    )

    table = evals.grouped(results)
    gates = evals.gates(table, limits) if limits is not None else None
    runs = [Run("Answers without the reader (what --check gates)", table, results)]
    if read is not None:
        assert engine.reader is not None
        runs.append(Run(f"Answers with the reader ({reader_id(engine.reader)})", evals.grouped(read), read))
    model = engine.index.manifest.model_name
    subset = f" (subset {args.subset})" if args.subset else ""
    langs = ", ".join(f"{table[g]['n']:.0f} {group_title(g)}" for g in ordered_groups(table, True)[1:])
    header = f"Evaluation of {path.name}{subset}: {len(items)} questions ({langs}), model {model}"

    def draw(console: Console) -> None:
        print_summary(console, header, runs, gates, _shown(limits_path))
        if args.failures:
            console.print()
            for miss in evals.failures(results):
                m = f"miss {miss['id']}: rank={miss['rank']} answered={miss['answered']}  {miss['question']}"
                console.print(Text(m))

    sys.stdout.write(terminal_text(draw))
    failed = sum(bool(evals.misses(r)) for r in results)
    footer = f"\n{failed} of {len(items)} questions failed a check; "
    if args.report:
        when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        report = report_markdown(f"{header}; run {when}.", runs, gates, _shown(limits_path))
        try:
            args.report.write_text(report, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--report {args.report}: cannot write ({exc.strerror})") from None
        footer += (
            f"wrote {args.report}: every group, and each failed question with its evidence and citations"
        )
    else:
        footer += "--report FILE lists each with its expected evidence and what was cited"
    sys.stdout.write(terminal_text(lambda console: console.print(Text(footer))))
    if args.check:
        assert limits is not None
        problems = evals.check_thresholds(table, limits)
        for problem in problems:
            _err(f"below threshold: {problem}")
        return 1 if problems else 0
    return 0


def _calibrate(
    args: argparse.Namespace,
    settings: Settings,
    engine: Engine,
    paths: Sequence[Path],
    results: list[ItemResult],
    read: list[ItemResult] | None,
) -> int:
    """``eval --calibrate``: fit the abstention bars (and the judge bar with --reader), write them."""
    from assistant.answer.calibrate import calibrate_from, calibrate_judge
    from assistant.answer.reading import reader_id

    target = args.calibration_out or settings.calibration_path
    sources = [p.name for p in paths]
    model = engine.index.manifest.model_name
    if read is not None and engine.reader is not None:
        policy, note = calibrate_judge(read, engine.policy, reader_id(engine.reader), model, sources, target)
    else:
        policy, note = calibrate_from(results, model, sources, target)
    print(f"min_dense={policy.min_dense} clear_margin={policy.clear_margin}")
    print(f"margin_floor={policy.margin_floor} min_support={policy.min_support}")
    if policy.min_judge:
        print(f"min_judge={policy.min_judge} for {policy.judge_reader}")
    print(note)
    print(f"wrote {target}")
    return 0
