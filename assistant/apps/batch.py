"""Batch answering: a file of questions in, one answer record per question out.

``run_batch`` answers items in embedding batches and hands every record to a writer the
moment it is done; ``cmd_batch`` is the ``assistant batch`` subcommand around it. Reading
question files and writing records are in :mod:`assistant.apps.batch_io`, reading an output
back for ``--resume`` in :mod:`assistant.apps.batch_resume`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.apps.batch_answer import About, Answerer, EngineAnswerer, served_answerer
from assistant.apps.batch_io import (
    CSV_COLUMNS,
    BadLine,
    FileWriter,
    Item,
    StreamWriter,
    csv_line,
    format_for,
    md_header,
    read_questions,
    render_csv,
    render_jsonl,
    render_md,
)
from assistant.apps.batch_resume import prepare_resume
from assistant.apps.progress import spinner
from assistant.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_SOME_ERRORS,
    BatchInputError,
    BatchWriteError,
    one_line,
)
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.engine import Engine

BATCH_SIZE = 16
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, what shells report for a process ended by SIGTERM
# Input fields with these names would overwrite record fields, so they are kept under "input".
RECORD_KEYS = frozenset(
    "id question lang answerable answer citations passages reader timings_ms error line input".split()
)


@dataclass
class BatchStats:
    """What a run did; ``total`` counts every input row, skipped ones included."""

    total: int = 0
    answered: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def done(self) -> int:
        """Rows that now have a record (from this run or an earlier one)."""
        return self.answered + self.errors + self.skipped

    @property
    def rate(self) -> float:
        """Questions handled per second in this run."""
        return (self.answered + self.errors) / self.seconds if self.seconds > 0 else 0.0


class RecordWriter(Protocol):
    """Receives each finished record and must have written it out when ``write`` returns."""

    def write(self, record: dict[str, Any]) -> None: ...


def _with_extra(record: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if key in RECORD_KEYS:
            record.setdefault("input", {})[key] = value
        else:
            record[key] = value
    return record


def error_record(qid: str, line: int, message: str, question: str | None = None) -> dict[str, Any]:
    """The record written instead of an answer: ``{"id", "line", "error"}`` (+ the question if known)."""
    record: dict[str, Any] = {"id": qid, "line": line, "error": message}
    if question is not None:
        # Keep error records small: a 10 MB line should not be copied into the output.
        record["question"] = question if len(question) <= 300 else question[:300] + "…"
    return record


def run_batch(
    source: Engine | Answerer,
    items: Sequence[Item | BadLine],
    writer: RecordWriter,
    *,
    k: int | None = None,
    doc_ids: Sequence[str] | None = None,
    batch_size: int = BATCH_SIZE,
    done_ids: set[str] | frozenset[str] = frozenset(),
    on_progress: Callable[[int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> BatchStats:
    """Answer ``items`` (skipping ``done_ids``), ``batch_size`` questions at a time, with ``source``: an
    engine in this process or an :class:`Answerer` (a running server).

    Records go to ``writer`` in input order as each batch finishes; bad lines and refused
    questions become error records (and a ``log`` line). Ctrl-C ends the run and returns
    the stats with ``interrupted`` set; records already written stay complete.
    """
    answerer = source if hasattr(source, "answer") else EngineAnswerer(source)  # type: ignore[arg-type]
    todo = [row for row in items if row.qid not in done_ids]
    stats = BatchStats(total=len(items), skipped=len(items) - len(todo))
    t0 = time.perf_counter()

    def finish(window: list[Item | BadLine]) -> None:
        asked = [r for r in window if isinstance(r, Item)]
        results = iter(answerer.answer([r.question for r in asked], [r.qid for r in asked], k, doc_ids))
        for row in window:
            result = next(results) if isinstance(row, Item) else None
            if isinstance(result, dict):
                writer.write(_with_extra(result, row.extra))
                stats.answered += 1
            else:
                message = row.error if isinstance(row, BadLine) else str(result)
                writer.write(_with_extra(error_record(row.qid, row.line, message, row.question), row.extra))
                stats.errors += 1
                if log:
                    log(f"line {row.line} ({row.qid}): {message}")
            if on_progress:
                on_progress(1)

    try:
        # a window holds batch_size questions plus the bad lines among them, so output keeps input order
        window: list[Item | BadLine] = []
        for row in todo:
            window.append(row)
            if sum(isinstance(r, Item) for r in window) == batch_size:
                finish(window)
                window = []
        finish(window)
    except KeyboardInterrupt:
        stats.interrupted = True
    stats.seconds = time.perf_counter() - t0
    return stats


def _err(message: str) -> None:
    print(f"assistant: error: {message}", file=sys.stderr)


def _check_output(output: Path, source: Path, *, force: bool, resume: bool) -> None:
    """Refuse an output that is the input (by any name: symlink, hard link), even with --force,
    and an existing non-empty file unless --force (overwrite) or --resume (append) says what to do."""
    try:
        same = os.path.samefile(output, source)
    except OSError:  # one of them does not exist (yet), so they are not one file
        same = False
    if same:
        raise BatchInputError(
            f"{output}: the output file would overwrite the input {source}; write the answers elsewhere"
        )
    if output.is_file() and output.stat().st_size > 0 and not (force or resume):
        raise BatchInputError(
            f"{output} already exists; add --force to overwrite it or --resume to answer only "
            "the questions it lacks"
        )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[list[int]]:
    """While answering, SIGTERM stops the run the way Ctrl-C does, so the finished records are kept
    and the summary printed; the list it yields gets the signal number if one came."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers can only be set from the main thread
        return

    def stop(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _note(message: str) -> None:
    # sys.stderr is looked up at call time so rich's live display can print it above the bar
    print(f"assistant: {message}", file=sys.stderr)


def answering_rate(completed: float, elapsed: float | None) -> float | None:
    """Questions per second since answering began, or None before there is anything to say.

    Averaged over the whole run: records arrive a window (16) at a time, so rich's own speed,
    taken over its last few samples, read a window written in microseconds as 8,000 q/s.
    """
    if not completed or not elapsed or elapsed < 0.5:
        return None
    return completed / elapsed


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar (count, rate, ETA) on stderr; a no-op callback when disabled."""
    if not enabled:
        yield lambda n: None
        return
    from rich import progress as rp
    from rich.console import Console
    from rich.text import Text

    class Rate(rp.ProgressColumn):
        def render(self, task: rp.Task) -> Text:
            rate = answering_rate(task.completed, task.elapsed)
            return Text(f"{rate:.1f} q/s" if rate else "- q/s", style="progress.data.speed")

    class Left(rp.ProgressColumn):
        def render(self, task: rp.Task) -> Text:
            rate = answering_rate(task.completed, task.elapsed)
            left = (task.total or 0) - task.completed
            text = f"{left / rate:.0f}s left" if rate and left > 0 else ""
            return Text(text, style="progress.remaining")

    columns = (rp.BarColumn(), rp.MofNCompleteColumn(), Rate(), Left())
    # redirect_stdout=False: records may be going to stdout and must not be captured by the display
    with rp.Progress(
        *columns, console=Console(file=sys.stderr), transient=True, redirect_stdout=False
    ) as bar:
        task = bar.add_task("answering", total=total)
        yield lambda n: bar.advance(task, n)


def cmd_batch(args: argparse.Namespace, open_engine: Callable[[], Engine] | None = None) -> int:
    """``assistant batch``: exit 0 (all answered), 3 (some error records), 2 (unusable input or an
    output file it will not overwrite), 1 (the output could not be written, a full disk: the records
    before stay whole for --resume), 130 (Ctrl-C) or 143 (SIGTERM), both after the summary.

    ``open_engine`` replaces ``Engine.open`` (tests inject a prepared engine).
    """
    output: Path | None = args.output
    try:
        if args.resume and output is None:
            raise BatchInputError("--resume needs the output file given with -o")
        if output is not None:
            _check_output(output, args.input, force=args.force, resume=args.resume)
        out_fmt = format_for(output, args.format, output=True)
        rows = list(read_questions(args.input, args.input_format))
        if not rows:
            raise BatchInputError(f"{args.input}: no questions (blank lines and # comments are skipped)")
        done, dropped = prepare_resume(output, out_fmt) if args.resume and output else (set(), 0)
    except BatchInputError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    if dropped:
        _note(f"{output}: dropped a cut-off last record ({dropped} bytes); it will be answered again")
    # the model loads once the input is known to be usable, and before the output is touched
    answerer = _answerer(args, open_engine)
    render = {"csv": render_csv, "md": render_md}.get(out_fmt, render_jsonl)
    header = {"csv": csv_line(CSV_COLUMNS), "md": _md_header(args, answerer.about)}.get(out_fmt, "")
    writer: FileWriter | StreamWriter
    try:
        if output is None:
            writer = StreamWriter(sys.stdout, render, header)
        else:
            if out_fmt == "csv":
                header = "\ufeff" + header  # a UTF-8 BOM, without which Excel reads the file as ANSI
            try:
                writer = FileWriter(output, render, header, append=args.resume, kept=len(done))
            except OSError as exc:
                _err(f"{output}: cannot write ({exc.strerror})")
                return EXIT_BAD_INPUT
        try:
            # no bar when records are printed to the same terminal: they would garble each other
            show = sys.stderr.isatty() and not (output is None and sys.stdout.isatty())
            with (
                _progress(sum(row.qid not in done for row in rows), show) as advance,
                _sigterm_as_interrupt() as term,
            ):
                stats = run_batch(
                    answerer,
                    rows,
                    writer,
                    k=args.k,
                    doc_ids=args.doc or None,
                    done_ids=done,
                    on_progress=advance,
                    log=lambda m: _note(f"{args.input}: {m}"),
                )
        finally:
            if isinstance(writer, FileWriter):
                writer.close()
    except BatchWriteError as exc:
        # a full disk: the file holds whole records only, and the message says how to continue it
        _err(one_line(exc))
        return exc.exit_code
    skipped = f", skipped {stats.skipped} (resume)" if args.resume else ""
    _note(
        f"answered {stats.answered}, errors {stats.errors}{skipped} "
        f"in {stats.seconds:.1f}s ({stats.rate:.1f} questions/s)"
    )
    if stats.interrupted:
        hint = (
            "re-run with --resume to continue" if output else "write to a file with -o to be able to --resume"
        )
        how = "interrupted by SIGTERM" if term else "interrupted"
        _note(f"{how} after {stats.done} of {stats.total}; {hint}")
        return EXIT_TERMINATED if term else EXIT_INTERRUPTED
    if stats.errors:
        _note(f"{stats.errors} of {stats.total} questions produced error records")
        return EXIT_SOME_ERRORS
    return 0


def _answerer(args: argparse.Namespace, open_engine: Callable[[], Engine] | None) -> Answerer:
    """A running server for these settings when there is one, else the engine loaded here (with a
    "loading the model" spinner on a terminal, so the bar that follows counts only answering)."""
    if open_engine is not None:
        return EngineAnswerer(open_engine())
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    if not args.no_server and args.embedder is None:
        served = served_answerer(settings, use_reader=not args.no_reader)
        if served is not None:
            _note("answering with the running `assistant serve` (--no-server to load the model here)")
            return served
    from assistant.engine import Engine  # only now: `assistant --help` and `ask` stay light

    with spinner("loading the model and the index"):
        engine = Engine.open(settings, embedder=args.embedder, reader=None if args.no_reader else "default")
        engine.load()  # here, under the spinner, not inside the bar's first questions
    return EngineAnswerer(engine)


def _md_header(args: argparse.Namespace, about: About) -> str:
    """The Markdown report's header: what was answered, when, with which model, corpus and settings."""
    from datetime import datetime

    return md_header(
        args.input.name,
        when=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        model=about.model,
        corpus=f"{about.corpus} ({about.documents} documents)",
        settings={
            "passages per answer (k)": str(args.k or about.top_k),
            "reader": about.reader or "none (extractive answers)",
            "documents searched": ", ".join(args.doc) if args.doc else "all",
        },
    )


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the ``batch`` subcommand (its func is :func:`cmd_batch`)."""
    p = subparsers.add_parser("batch", help="answer a file of questions into jsonl, csv or a Markdown report")
    p.add_argument("input", type=Path, help="questions: .txt (one per line), .jsonl or .csv (id, question)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="output file (default: JSONL on stdout); an existing one needs --force or --resume",
    )
    p.add_argument(
        "--format",
        choices=["jsonl", "csv", "md"],
        help="output format (default: from -o); a csv file is UTF-8 with a BOM, so Excel opens it",
    )
    p.add_argument("--input-format", choices=["txt", "jsonl", "csv"], help="default: from the extension")
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="skip ids already in the -o file, append the rest"
    )
    again.add_argument("--force", action="store_true", help="overwrite an existing -o file")
    p.add_argument("-k", type=int, default=None, help="passages per answer (default 5)")
    p.add_argument("--doc", action="append", help="search only this doc_id (repeatable)")
    p.add_argument("--no-reader", action="store_true", help="extractive answers only (much faster)")
    p.add_argument(
        "--no-server",
        action="store_true",
        help="load the model in this process even if `assistant serve` is running",
    )
    p.set_defaults(func=cmd_batch)
    return p
