"""Batch files: read question files, render answer records, repair an output file for resuming.

Everything here is about the files of ``assistant batch``, not about answering:
:func:`read_questions` turns a txt/jsonl/csv file into :class:`Item` (a question to ask) and
:class:`BadLine` (a line that cannot be asked); ``render_*`` and :class:`StreamWriter` write
records as jsonl, csv or a Markdown report, and :class:`FileWriter` keeps an output file whole when
a write fails. Reading an earlier output back for ``--resume`` is in :mod:`assistant.apps.batch_resume`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from assistant.errors import BatchInputError, BatchWriteError
from assistant.text import compact

INPUT_FORMATS = {".txt": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
OUTPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".md": "md", ".markdown": "md"}
MD_TITLE = "# Answers: "
# Each Markdown record ends with its id in an HTML comment (invisible when rendered): --resume reads the
# ids back from it, and a record without its mark at the end was cut short.
MD_MARK = "<!-- batch-id: "
CSV_COLUMNS = ("id", "question", "lang", "answerable", "answer", "first_ref", "first_quote", "refs", "error")


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


# --- reading questions ---------------------------------------------------------------------------


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


# --- rendering records ---------------------------------------------------------------------------


def render_jsonl(record: dict[str, Any]) -> str:
    """The record as one JSON line."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def csv_line(cells: Sequence[object]) -> str:
    """One CSV row, newline-terminated (also the header of a csv output file)."""
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
    return csv_line(row)


def md_header(source: str, *, when: str, model: str, corpus: str, settings: dict[str, str]) -> str:
    """The top of a Markdown report: the question file, then when, with what and how it was answered."""
    lines = [f"{MD_TITLE}{source}", "", f"- Date: {when}", f"- Model: `{model}`", f"- Corpus: {corpus}"]
    lines.append("- Settings: " + "; ".join(f"{name} {value}" for name, value in settings.items()))
    return "\n".join(lines) + "\n\n"


def render_md(record: dict[str, Any]) -> str:
    """The record as a report section: question heading, the answer, then its sources.

    Each quote appears once: the answer text already quotes its citations, so a source shows its
    quote only when the answer does not contain it (a reader's rendering, say).
    """
    heading = " ".join((record.get("question") or record["id"]).split())
    parts = [f"## {heading if len(heading) <= 160 else heading[:159] + '…'}", ""]
    if "error" in record:
        parts += [f"**Error** (`{record['id']}`, line {record['line']}): {record['error']}", ""]
    else:
        status = "answered" if record["answerable"] else "not answered by the corpus"
        parts += [f"`{record['id']}` · {record['lang']} · {status}", ""]
        parts += ["  \n".join(record["answer"].splitlines()), ""]
        answer = compact(record["answer"])
        for c in record["citations"]:
            where = " · ".join(x for x in (f"`{c['ref']}`", f"《{c['title']}》", c["section"]) if x)
            parts += [f"- [{c['n']}] {where}"]
            if compact(c["quote"]) not in answer:
                parts += [f"  > {line}".rstrip() for line in c["quote"].splitlines()]
        if record["citations"]:
            parts += [""]
        if not record["answerable"] and record["passages"]:
            parts += ["Closest passages: " + ", ".join(f"`{p['ref']}`" for p in record["passages"]), ""]
    parts += [md_mark(record["id"]), ""]
    return "\n".join(parts) + "\n"


def md_mark(qid: str) -> str:
    """The line that ends a Markdown record: its id as JSON in an HTML comment (no newline)."""
    # JSON escapes newlines; ">" is escaped too so an id cannot end the comment early
    quoted = json.dumps(qid, ensure_ascii=False).replace(">", "\\u003e")
    return f"{MD_MARK}{quoted} -->"


def md_mark_id(line: str) -> str | None:
    """The id in a line written by :func:`md_mark` (newline allowed), or None if it is not one."""
    body = line.rstrip("\r\n")
    if not (body.startswith(MD_MARK) and body.endswith(" -->")):
        return None
    try:
        qid = json.loads(body[len(MD_MARK) : -len(" -->")])
    except json.JSONDecodeError:
        return None
    return qid if isinstance(qid, str) else None


class StreamWriter:
    """Writes each record as rendered by ``render`` in one write call, then flushes (for stdout).

    One call per record means an interrupted run never leaves half a record on disk.
    """

    def __init__(self, stream: TextIO, render: Callable[[dict[str, Any]], str], header: str = "") -> None:
        self._stream, self._render = stream, render
        self.written = 0
        if header:
            self._put(header)

    def _put(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except BrokenPipeError:
            raise  # the reader went away: the command line ends quietly (exit 141)
        except OSError as exc:
            raise BatchWriteError(
                f"could not write the answers to standard output ({exc.strerror or exc}); "
                f"{self.written} records were written; write to a file with -o to be able to --resume"
            ) from None

    def write(self, record: dict[str, Any]) -> None:
        """Write and flush one record."""
        self._put(self._render(record))
        self.written += 1


class FileWriter:
    """Appends each record to an output file with unbuffered writes; a failed write leaves no half record.

    When a write fails (a full disk), the file is cut back to the end of the last whole record, so
    what was written stays valid and ``--resume`` continues it. ``kept`` is how many records the
    file already holds (from an earlier run being resumed), for the message.
    """

    def __init__(
        self,
        path: Path,
        render: Callable[[dict[str, Any]], str],
        header: str = "",
        *,
        append: bool = False,
        kept: int = 0,
    ) -> None:
        self._path, self._render = path, render
        # unbuffered: nothing waits in a buffer to be written (or half-written) when the file is closed
        self._file = path.open("ab" if append else "wb", buffering=0)
        self._good = self._file.seek(0, os.SEEK_END)
        self.written, self._kept = 0, kept
        if header and self._good == 0:  # a resumed file has its header already
            try:
                self._put(header)
            except BaseException:
                self._file.close()
                raise

    def _put(self, text: str) -> None:
        encoded = text.encode("utf-8")
        data = memoryview(encoded)
        try:
            while data:  # a raw write may take only part (the disk filling up): write the rest
                n = self._file.write(data)
                if not n:  # never for a regular file, but it must not loop forever
                    raise OSError(errno.EIO, "the file took no bytes")
                data = data[n:]
        except OSError as exc:
            self._cut_back()
            done = self._kept + self.written
            raise BatchWriteError(
                f"could not write {self._path} ({exc.strerror or exc}); the {done} records written so far "
                "are kept; free space and rerun with --resume"
            ) from None
        except BaseException:  # Ctrl-C or SIGTERM between two parts of one record
            self._cut_back()
            raise
        self._good += len(encoded)

    def _cut_back(self) -> None:
        """Truncate a half-written record away (shrinking a file needs no free space)."""
        with contextlib.suppress(OSError):  # if even this fails, --resume cuts the half record off
            os.ftruncate(self._file.fileno(), self._good)

    def write(self, record: dict[str, Any]) -> None:
        """Write one record (one or more system calls, nothing buffered)."""
        self._put(self._render(record))
        self.written += 1

    def close(self) -> None:
        """Close the file."""
        self._file.close()
