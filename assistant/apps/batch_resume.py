"""Reading back an earlier ``assistant batch`` output for ``--resume``, one line at a time.

:func:`prepare_resume` streams the file (an output can be gigabytes: only the set of finished ids
and the byte offset of the end of the last complete record are kept), then truncates whatever
follows that offset: a record cut short by a crash, a kill or a full disk is answered again.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from assistant.apps.batch_io import CSV_COLUMNS, MD_MARK, MD_TITLE, BatchInputError, md_mark_id


class _Lines:
    """The complete (newline-terminated) lines of a binary file as text, with the byte offset reached.

    A last line without its newline is not yielded: every record ends with a newline written in the
    same call, so such a line is part of a cut-off record. ``end`` is the offset just past the last
    line yielded (the BOM counted), and ``exhausted`` tells that no complete line is left.
    """

    def __init__(self, f: BinaryIO, path: Path) -> None:
        self._f, self._path = f, path
        self.end = 0
        self.number = 0
        self.exhausted = False

    def __iter__(self) -> Iterator[str]:
        for raw in self._f:  # a binary file iterates by b"\n": memory is one line, whatever the file size
            if not raw.endswith(b"\n"):
                break
            start = self.end
            self.end += len(raw)
            self.number += 1
            if start == 0 and raw.startswith(codecs.BOM_UTF8):
                start, raw = len(codecs.BOM_UTF8), raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                at = start + exc.start
                raise BatchInputError(
                    f"{self._path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte offset {at}); "
                    "it is not an output of assistant batch: use another -o file"
                ) from None
            yield text
        self.exhausted = True


def _jsonl(lines: _Lines, path: Path) -> tuple[set[str], int]:
    ids: set[str] = set()
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise BatchInputError(f"{path}: line {lines.number} is not a record written by assistant batch")
        ids.add(record["id"])
    return ids, lines.end


def _csv(lines: _Lines, path: Path) -> tuple[set[str], int]:
    # csv.reader pulls lines only until a row is complete, so after each row lines.end is where it ends
    # (a quoted answer may span several lines)
    reader = csv.reader(iter(lines), strict=True)
    ids: set[str] = set()
    good = 0
    try:
        for i, row in enumerate(reader):
            if i == 0 and tuple(row) != CSV_COLUMNS:
                raise BatchInputError(f"{path}: not a CSV written by assistant batch (other header)")
            ids.update(row[:1] if i else [])
            good = lines.end
    except csv.Error as exc:
        if not (lines.exhausted or next(iter(lines), None) is None):
            # broken in the middle: not something a crash leaves behind
            raise BatchInputError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
        # else an unterminated quoted field at the very end: a row cut short, dropped
    return ids, good


def _md(lines: _Lines, path: Path) -> tuple[set[str], int]:
    """Ids of a Markdown report: each record ends with its id mark, so anything after the last is cut off."""
    ids: set[str] = set()
    good = 0
    headings = 0  # record headings after ``good``: more than one means records without marks
    state = "title"  # title -> header (until the blank line after "- Settings:") -> records
    for line in lines:
        if state == "title":
            if not line.startswith(MD_TITLE):
                break
            state = "header"
        elif state == "header":
            if line.startswith("- Settings: "):
                state = "settings"
        elif state == "settings":
            state = "records"
            good = lines.end if not line.strip() else good
        elif line.startswith(MD_MARK):
            qid = md_mark_id(line)
            if qid is None:
                raise BatchInputError(f"{path}: line {lines.number} is not a mark written by assistant batch")
            ids.add(qid)
            good, headings, state = lines.end, 0, "after-mark"
            continue
        elif state == "after-mark" and not line.strip():
            good = lines.end  # the blank line that closes a record belongs to it
        elif line.startswith("## "):
            headings += 1
        state = "records" if state == "after-mark" else state
    if state == "title" and lines.number:
        raise BatchInputError(f"{path}: not a Markdown report written by assistant batch (other title)")
    if headings > 1:
        raise BatchInputError(
            f"{path}: its records carry no batch-id marks (written by an older assistant); "
            "it cannot be resumed: write to a new -o file"
        )
    return ids, good


# How each format's file begins: a file whose first bytes disagree was not written by batch, and must
# not be truncated even when it holds no complete line (a lone unterminated line looks cut off).
_STARTS = {"jsonl": b"{", "csv": ",".join(CSV_COLUMNS).encode(), "md": MD_TITLE.encode()}


def _refuse_foreign_start(f: BinaryIO, path: Path, output_format: str) -> None:
    start = _STARTS[output_format]
    head = f.read(len(start) + len(codecs.BOM_UTF8)).removeprefix(codecs.BOM_UTF8)
    f.seek(0)
    if output_format == "jsonl":
        fits = head.lstrip()[:1] in (b"", b"{")
    else:
        fits = start.startswith(head[: len(start)])
    if not fits:
        what = {"jsonl": "JSONL file", "csv": "CSV", "md": "Markdown report"}[output_format]
        raise BatchInputError(
            f"{path}: not a {what} written by assistant batch (it starts differently); "
            "resume into the file batch wrote"
        )


def prepare_resume(path: Path, output_format: str) -> tuple[set[str], int]:
    """Ids already in an earlier output file, and how many bytes of a cut-off last record were removed.

    The file is read line by line, so memory stays at one line plus the ids however large it is. A
    crash can leave a partial last record; it is truncated away here so its question is answered
    again. A missing file resumes nothing; a file that batch did not write is refused
    (BatchInputError) and left as it is.
    """
    parse = {"jsonl": _jsonl, "csv": _csv, "md": _md}[output_format]
    try:
        with path.open("r+b") as f:
            _refuse_foreign_start(f, path, output_format)
            ids, keep = parse(_Lines(f, path), path)
            size = f.seek(0, 2)
            if keep < size:
                f.truncate(keep)
    except FileNotFoundError:
        return set(), 0
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot resume it ({exc.strerror}); check its permissions") from None
    return ids, size - keep
