"""Batch answering: a file of questions in, one answer record per question out.

``read_questions`` turns a txt/jsonl/csv file into :class:`Item` (a question to ask)
and :class:`BadLine` (a line that cannot be asked); ``run_batch`` answers items in
embedding batches and hands every record to a writer the moment it is done;
``cmd_batch`` is the ``assistant batch`` subcommand around them.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from assistant.engine import Engine, QuestionError, Settings
from assistant.records import Answer
from assistant.serialize import answer_record

EXIT_BAD_INPUT = 2
EXIT_SOME_ERRORS = 3
EXIT_INTERRUPTED = 130
BATCH_SIZE = 16
INPUT_FORMATS = {".txt": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
OUTPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".md": "md", ".markdown": "md"}
# Input fields with these names would overwrite record fields, so they are kept under "input".
RECORD_KEYS = frozenset(
    "id question lang answerable answer citations passages timings_ms error line input".split()
)
CSV_COLUMNS = ("id", "question", "lang", "answerable", "answer", "first_ref", "first_quote", "refs", "error")


class BatchInputError(Exception):
    """An input (or resumed output) file that cannot be used at all; the message is one line."""


@dataclass(frozen=True)
class Item:
    """A question to ask: its id, the 1-based input line it starts on, and fields to pass through."""

    qid: str
    question: str
    line: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BadLine:
    """An input line that cannot be asked; it becomes an error record."""

    qid: str
    line: int
    error: str
    extra: dict[str, Any] = field(default_factory=dict)
    question: str | None = None


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


def _decode(data: bytes, path: Path) -> tuple[str, int]:
    """UTF-8 text without its BOM, and the BOM's length in bytes."""
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8"), bom
    except UnicodeDecodeError as exc:
        at = bom + exc.start
        raise BatchInputError(
            f"{path}: not UTF-8 text (byte 0x{data[at]:02x} at byte offset {at}); save the file as UTF-8"
        ) from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BatchInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot read ({exc.strerror})") from None


def format_for(path: Path | None, explicit: str | None, output: bool = False) -> str:
    """The explicit format, else the one the extension names (jsonl for stdout)."""
    if explicit or path is None:
        return explicit or "jsonl"
    fmt = (OUTPUT_FORMATS if output else INPUT_FORMATS).get(path.suffix.lower())
    if fmt is None:
        option = "--format jsonl|csv|md" if output else "--input-format txt|jsonl|csv"
        raise BatchInputError(f"{path}: cannot tell the format from the extension; use {option}")
    return fmt


def _json_type(value: object) -> str:
    names = {list: "an array", dict: "an object", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def _from_fields(fields: dict[str, Any], n: int) -> Item | BadLine:
    """An Item from a jsonl object or csv row: ``id`` and ``question``, the rest passed through."""
    extra = dict(fields)
    raw_id, question = extra.pop("id", None), extra.pop("question", None)
    qid = f"line-{n}"
    if isinstance(raw_id, str) and raw_id.strip():
        qid = raw_id.strip()
    elif isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        qid = str(raw_id)
    elif raw_id is not None and not isinstance(raw_id, str):
        extra["id"] = raw_id  # kept (under "input") so the user sees what was wrong
        return BadLine(qid, n, f"id must be a string or a number, not {_json_type(raw_id)}", extra)
    if question is None:
        return BadLine(qid, n, "missing question", extra)
    if not isinstance(question, str):
        return BadLine(qid, n, f"question must be a string, not {_json_type(question)}", extra)
    if not question.strip():
        return BadLine(qid, n, "empty question", extra)
    return Item(qid, question, n, extra)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    # split on \n only: str.splitlines also splits on \x0b, \u2028 ..., which would shift line numbers
    for n, raw in enumerate(text.split("\n"), 1):
        yield n, raw.removesuffix("\r")


def _txt_rows(text: str) -> Iterator[Item | BadLine]:
    for n, line in _lines(text):
        if line.strip() and not line.lstrip().startswith("#"):
            yield Item(f"line-{n}", line.strip(), n)


def _jsonl_rows(text: str) -> Iterator[Item | BadLine]:
    for n, line in _lines(text):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadLine(f"line-{n}", n, f"invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        if isinstance(obj, dict):
            yield _from_fields(obj, n)
        else:
            yield BadLine(f"line-{n}", n, f"expected a JSON object with a question, not {_json_type(obj)}")


def _csv_rows(text: str, path: Path) -> list[Item | BadLine]:
    # Parsed eagerly so a bad header is reported before any question is answered.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        names = [h.strip() for h in next(reader, [])]
        keys = [h.lower() if h.lower() in ("id", "question") else h for h in names]
        if "question" not in keys:
            found = ", ".join(names) or "nothing"
            raise BatchInputError(f"{path}: the CSV header needs a 'question' column (found: {found})")
        rows: list[Item | BadLine] = []
        start = reader.line_num + 1
        for row in reader:
            n, start = start, reader.line_num + 1  # a quoted field may span lines: n is where the row starts
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(keys):
                rows.append(BadLine(f"line-{n}", n, f"{len(row)} fields but the header has {len(keys)}"))
            else:
                rows.append(
                    _from_fields(dict(zip(keys, row + [""] * (len(keys) - len(row)), strict=True)), n)
                )
    except csv.Error as exc:
        raise BatchInputError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
    return rows


def _unique_ids(rows: Iterable[Item | BadLine]) -> Iterator[Item | BadLine]:
    # --resume skips by id, so a repeated id would be silently dropped later: refuse it now.
    first_line: dict[str, int] = {}
    for row in rows:
        first = first_line.setdefault(row.qid, row.line)
        if first == row.line:
            yield row
        else:
            message = f"duplicate id (first used on line {first})"
            yield BadLine(row.qid, row.line, message, row.extra, row.question)


def read_questions(path: Path, input_format: str | None = None) -> Iterator[Item | BadLine]:
    """Items and bad lines of a question file, in file order, with unique ids.

    ``input_format`` is ``txt``, ``jsonl`` or ``csv`` (default: from the extension). Raises
    :class:`BatchInputError` at once for a file that is missing, unreadable, not UTF-8 or a CSV
    without a question column; per-line problems come back as :class:`BadLine`.
    """
    fmt = format_for(path, input_format)
    text, _ = _decode(_read(path), path)
    if fmt == "csv":
        return _unique_ids(_csv_rows(text, path))
    return _unique_ids(_jsonl_rows(text) if fmt == "jsonl" else _txt_rows(text))


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
        record["question"] = question
    return record


def render_jsonl(record: dict[str, Any]) -> str:
    """The record as one JSON line."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def _csv_line(cells: Sequence[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def render_csv(record: dict[str, Any]) -> str:
    """The record as a CSV row: the answer, its first citation and all cited refs (or the error)."""
    cites = record.get("citations") or [{}]
    answerable = "" if record.get("answerable") is None else str(record["answerable"]).lower()
    error = f"line {record['line']}: {record['error']}" if "error" in record else ""
    first, refs = cites[0], " ".join(c.get("ref", "") for c in cites)
    row = [record.get(key, "") for key in ("id", "question", "lang")]
    row += [answerable, record.get("answer", ""), first.get("ref", ""), first.get("quote", ""), refs, error]
    return _csv_line(row)


def render_md(record: dict[str, Any]) -> str:
    """The record as a report section: question heading, answer, quotes as blockquotes with their source."""
    heading = " ".join((record.get("question") or record["id"]).split())
    parts = [f"## {heading if len(heading) <= 160 else heading[:159] + '…'}", ""]
    if "error" in record:
        parts += [f"**Error** (`{record['id']}`, line {record['line']}): {record['error']}", ""]
    else:
        status = "answered" if record["answerable"] else "not answered by the corpus"
        parts += [f"`{record['id']}` · {record['lang']} · {status}", ""]
        parts += ["  \n".join(record["answer"].splitlines()), ""]
        for c in record["citations"]:
            parts += [f"> {line}".rstrip() for line in c["quote"].splitlines()]
            where = " · ".join(x for x in (f"`{c['ref']}`", f"《{c['title']}》", c["section"]) if x)
            parts += [">", f"> — [{c['n']}] {where}", ""]
        if not record["answerable"] and record["passages"]:
            parts += ["Closest passages: " + ", ".join(f"`{p['ref']}`" for p in record["passages"]), ""]
    return "\n".join(parts) + "\n"


class StreamWriter:
    """Writes each record as rendered by ``render`` in one write call, then flushes.

    One call per record means an interrupted run never leaves half a record on disk.
    """

    def __init__(self, stream: TextIO, render: Callable[[dict[str, Any]], str], header: str = "") -> None:
        self._stream, self._render = stream, render
        if header:
            self._put(header)

    def _put(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()

    def write(self, record: dict[str, Any]) -> None:
        """Write and flush one record."""
        self._put(self._render(record))


def _ask(
    engine: Engine, questions: list[str], k: int | None, doc_ids: Sequence[str] | None
) -> list[Answer | QuestionError]:
    """Answers in order; a question the engine refuses yields its QuestionError instead."""
    try:
        return list(engine.ask_many(questions, k, doc_ids)) if questions else []
    except QuestionError as exc:
        if len(questions) == 1:
            return [exc]
    # ask_many refuses the whole batch for one bad question: ask one by one so the others are answered
    out: list[Answer | QuestionError] = []
    for q in questions:
        try:
            out.append(engine.ask_many([q], k, doc_ids)[0])
        except QuestionError as exc:
            out.append(exc)
    return out


def run_batch(
    engine: Engine,
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
    """Answer ``items`` (skipping ``done_ids``) with one ``ask_many`` call per ``batch_size`` questions.

    Records go to ``writer`` in input order as each batch finishes; bad lines and refused
    questions become error records (and a ``log`` line). Ctrl-C ends the run and returns
    the stats with ``interrupted`` set; records already written stay complete.
    """
    todo = [row for row in items if row.qid not in done_ids]
    stats = BatchStats(total=len(items), skipped=len(items) - len(todo))
    t0 = time.perf_counter()

    def finish(window: list[Item | BadLine]) -> None:
        results = iter(_ask(engine, [r.question for r in window if isinstance(r, Item)], k, doc_ids))
        for row in window:
            result = next(results) if isinstance(row, Item) else None
            if isinstance(result, Answer):
                writer.write(_with_extra(answer_record(result, engine.documents, row.qid), row.extra))
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


def _csv_ids(text: str, path: Path) -> tuple[set[str], int]:
    """Ids in a batch CSV and the length of its complete rows (a quoted answer may span lines)."""
    lines = [line + "\n" for line in text.split("\n")[:-1]]
    ends = [0]
    for line in lines:
        ends.append(ends[-1] + len(line))
    reader = csv.reader(iter(lines), strict=True)
    ids: set[str] = set()
    good = 0
    try:
        for i, row in enumerate(reader):
            if i == 0 and tuple(row) != CSV_COLUMNS:
                raise BatchInputError(f"{path}: not a CSV written by assistant batch (other header)")
            ids.update(row[:1] if i else [])
            good = ends[reader.line_num]
    except csv.Error as exc:
        if reader.line_num < len(lines):  # broken in the middle: not something a crash leaves behind
            raise BatchInputError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
        # else an unterminated quoted field at the very end: a row cut short by a crash, dropped
    return ids, good


def _jsonl_ids(text: str, path: Path) -> tuple[set[str], int]:
    ids: set[str] = set()
    for n, line in _lines(text):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise BatchInputError(f"{path}: line {n} is not a record written by assistant batch")
        ids.add(record["id"])
    return ids, len(text)


def prepare_resume(path: Path, output_format: str) -> tuple[set[str], int]:
    """Ids already in an earlier output file, and how many bytes of a cut-off last record were removed.

    A crash can leave a partial last record; it is truncated away here so its question is answered
    again. A missing file resumes nothing. Markdown reports cannot be resumed (BatchInputError).
    """
    if output_format not in ("jsonl", "csv"):
        raise BatchInputError(
            f"cannot resume a {output_format} report (no ids to read back); use jsonl or csv"
        )
    if not path.exists():
        return set(), 0
    data = _read(path)
    # Every record ends with a newline written in the same call: anything after the last one is partial.
    cut = data.rfind(b"\n") + 1
    text, bom = _decode(data[:cut], path)
    ids, good = _csv_ids(text, path) if output_format == "csv" else _jsonl_ids(text, path)
    keep = bom + len(text[:good].encode("utf-8"))
    if keep < len(data):
        with path.open("r+b") as f:
            f.truncate(keep)
    return ids, len(data) - keep


def _err(message: str) -> None:
    print(f"assistant: error: {message}", file=sys.stderr)


def _note(message: str) -> None:
    # sys.stderr is looked up at call time so rich's live display can print it above the bar
    print(f"assistant: {message}", file=sys.stderr)


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
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.1f} q/s" if speed else "- q/s", style="progress.data.speed")

    columns = (rp.BarColumn(), rp.MofNCompleteColumn(), Rate(), rp.TimeRemainingColumn())
    # redirect_stdout=False: records may be going to stdout and must not be captured by the display
    with rp.Progress(
        *columns, console=Console(file=sys.stderr), transient=True, redirect_stdout=False
    ) as bar:
        task = bar.add_task("answering", total=total)
        yield lambda n: bar.advance(task, n)


def cmd_batch(args: argparse.Namespace, open_engine: Callable[[], Engine] | None = None) -> int:
    """``assistant batch``: exit 0 (all answered), 3 (some error records), 2 (unusable input), 130.

    ``open_engine`` replaces ``Engine.open`` (tests inject a prepared engine).
    """
    output: Path | None = args.output
    try:
        if args.resume and output is None:
            raise BatchInputError("--resume needs the output file given with -o")
        if output is not None and output.resolve() == args.input.resolve():
            raise BatchInputError(f"{output}: the output file would overwrite the input")
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
    if open_engine is None:
        settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
        engine = Engine.open(settings, embedder=args.embedder)
    else:
        engine = open_engine()
    try:
        mode = "a" if args.resume else "w"
        stream = sys.stdout if output is None else output.open(mode, encoding="utf-8", newline="")
    except OSError as exc:
        _err(f"{output}: cannot write ({exc.strerror})")
        return EXIT_BAD_INPUT
    try:
        header = {"csv": _csv_line(CSV_COLUMNS), "md": f"# Answers: {args.input.name}\n\n"}.get(out_fmt, "")
        if args.resume and stream.tell() > 0:
            header = ""  # appending to an earlier run's file, which has its header
        writer = StreamWriter(stream, {"csv": render_csv, "md": render_md}.get(out_fmt, render_jsonl), header)
        # no bar when records are printed to the same terminal: they would garble each other
        show = sys.stderr.isatty() and not (output is None and sys.stdout.isatty())
        with _progress(sum(row.qid not in done for row in rows), show) as advance:
            stats = run_batch(
                engine,
                rows,
                writer,
                k=args.k,
                doc_ids=args.doc or None,
                done_ids=done,
                on_progress=advance,
                log=lambda m: _note(f"{args.input}: {m}"),
            )
    finally:
        if stream is not sys.stdout:
            stream.close()
    skipped = f", skipped {stats.skipped} (resume)" if args.resume else ""
    _note(
        f"answered {stats.answered}, errors {stats.errors}{skipped} "
        f"in {stats.seconds:.1f}s ({stats.rate:.1f} questions/s)"
    )
    if stats.interrupted:
        hint = (
            "re-run with --resume to continue" if output else "write to a file with -o to be able to --resume"
        )
        _note(f"interrupted after {stats.done} of {stats.total}; {hint}")
        return EXIT_INTERRUPTED
    if stats.errors:
        _note(f"{stats.errors} of {stats.total} questions produced error records")
        return EXIT_SOME_ERRORS
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the ``batch`` subcommand (its func is :func:`cmd_batch`)."""
    p = subparsers.add_parser("batch", help="answer a file of questions into jsonl, csv or a Markdown report")
    p.add_argument("input", type=Path, help="questions: .txt (one per line), .jsonl or .csv (id, question)")
    p.add_argument("-o", "--output", type=Path, help="output file (default: JSONL on stdout)")
    p.add_argument("--format", choices=["jsonl", "csv", "md"], help="output format (default: from -o)")
    p.add_argument("--input-format", choices=["txt", "jsonl", "csv"], help="default: from the extension")
    p.add_argument("--resume", action="store_true", help="skip ids already in the -o file, append the rest")
    p.add_argument("-k", type=int, default=None, help="passages per answer (default 5)")
    p.add_argument("--doc", action="append", help="search only this doc_id (repeatable)")
    p.set_defaults(func=cmd_batch)
    return p
