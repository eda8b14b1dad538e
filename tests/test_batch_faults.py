"""Batch outputs under faults: a real full disk (tmpfs) keeps whole records and --resume completes
them; --resume reads an output back line by line (torn tails, empty files, BOMs) in bounded memory."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.answer.record import schema_problems
from assistant.apps.batch_io import CSV_COLUMNS, BatchInputError, csv_line, md_header, render_md
from assistant.apps.batch_resume import prepare_resume
from assistant.engine import Settings
from assistant.index.embedder import HashingEmbedder
from assistant.index.store import build_index, load_index
from assistant.records import Document
from tests.conftest import fill_disk
from tests.test_batch import CountingEngine, Q, assert_one_line_error, jline, run_cli

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def parts(documents: list[Document], embedder: HashingEmbedder, index_dir: Path, tmp_path: Path) -> tuple:
    build_index(documents, embedder, index_dir, "c1")
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=index_dir), embedder, load_index(index_dir)


def _questions(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(jline(id=f"q{i}", question=Q[i % len(Q)]) for i in range(n)) + "\n")
    return path


# ---------------------------------------------------------------- a full disk


@pytest.fixture
def small_disk(tmpfs) -> Path:
    """A real 64 KiB tmpfs (root only)."""
    return tmpfs("64k")


def _ids(path: Path, fmt: str) -> list[str]:
    """The ids of the whole records in an output, failing on anything that does not parse."""
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\n"), "the file ends in the middle of a line"
    if fmt == "jsonl":
        records = [json.loads(line) for line in text.splitlines()]
        assert all(schema_problems(r) == [] for r in records)
        return [r["id"] for r in records]
    if fmt == "csv":
        assert text.startswith("\ufeff") and text.count("\ufeff") == 1
        rows = list(csv.reader(io.StringIO(text[1:]), strict=True))
        assert tuple(rows[0]) == CSV_COLUMNS and all(len(r) == len(CSV_COLUMNS) for r in rows)
        return [r[0] for r in rows[1:]]
    assert text.count("# Answers: ") == 1  # one header, also after a resume
    ids = re.findall(r"^`(q\d+)` · ", text, re.MULTILINE)  # the visible id line of each record
    assert len(ids) == text.count("\n## ")
    return ids


@pytest.mark.parametrize(("fmt", "n"), [("jsonl", 12), ("csv", 100), ("md", 100)])
def test_a_full_disk_keeps_whole_records_and_resume_completes_them(
    tmp_path, parts, capsys, small_disk, fmt, n
) -> None:
    questions = _questions(tmp_path, n)
    every = [f"q{i}" for i in range(n)]
    roomy = tmp_path / f"roomy.{fmt}"
    assert run_cli([questions, "-o", roomy], CountingEngine(*parts), capsys)[0] == 0
    size = roomy.stat().st_size
    assert 16 * 1024 < size < 48 * 1024  # fills half the space left, fits once the filler is gone

    out = small_disk / f"out.{fmt}"
    fill_disk(small_disk, leave=size // 2)
    code, stdout, err = run_cli([questions, "-o", out], CountingEngine(*parts), capsys)
    assert code == 1 and stdout == ""
    assert_one_line_error(err)
    kept = int(re.search(r"the (\d+) records written so far", err)[1])
    assert (
        f"could not write {out} (No space left on device); the {kept} records written so far are kept; "
        "free space and rerun with --resume"
    ) in err
    assert 0 < kept < n
    assert _ids(out, fmt) == every[:kept]  # whole records only, no half line at the end

    (small_disk / "filler").unlink()
    engine = CountingEngine(*parts)
    code, _, err = run_cli([questions, "-o", out, "--resume"], engine, capsys)
    assert code == 0, err
    assert f"skipped {kept} (resume)" in err and "dropped" not in err
    assert sum(len(c) for c in engine.calls) == n - kept  # nothing asked twice
    assert _ids(out, fmt) == every  # nothing lost or doubled


def test_a_full_disk_on_stdout_is_one_line(tmp_path, parts, capsys, small_disk, monkeypatch) -> None:
    fill_disk(small_disk, leave=8 * 1024)
    stream = (small_disk / "redirected.jsonl").open("w", encoding="utf-8")  # `batch q.jsonl > full/file`
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        code, _, err = run_cli([_questions(tmp_path, 12)], CountingEngine(*parts), capsys)
    finally:
        monkeypatch.undo()
        with contextlib.suppress(OSError):  # its buffer still cannot be written
            stream.close()
    assert code == 1
    assert_one_line_error(err)
    assert "could not write the answers to standard output (No space left on device)" in err
    assert "write to a file with -o to be able to --resume" in err


# ---------------------------------------------------------------- reading an output back


def _jl(*ids: str) -> bytes:
    return "".join(jline(id=i, answer="答案\n两行") + "\n" for i in ids).encode()


CSV_HEAD = csv_line(CSV_COLUMNS).encode()


def _cv(*ids: str) -> bytes:
    return b"".join(csv_line([i, "q", "zh", "true", "第一行\n第二行", "", "", "", ""]).encode() for i in ids)


MD_HEAD = md_header(
    "q.jsonl", when="2024-01-01 10:00 UTC", model="m", corpus="c", settings={"k": "5"}
).encode()


def _md(*ids: str) -> bytes:
    return b"".join(render_md({"id": i, "line": 1, "error": "e", "question": "问题"}).encode() for i in ids)


ODD_ID = 'a --> `b`\n"c"'  # would end an HTML comment, break a code span and a line


@pytest.mark.parametrize(
    ("fmt", "whole", "tail", "ids"),
    [
        ("jsonl", b"", b"", set()),
        ("jsonl", _jl("a", "b"), b"", {"a", "b"}),
        ("jsonl", _jl("a", "b"), _jl("c")[:15], {"a", "b"}),
        ("jsonl", _jl("a"), _jl("长")[:10], {"a"}),  # cut inside a 3-byte character
        ("jsonl", b"", b'{"id": "a", "ans', set()),
        ("jsonl", BOM + _jl("a"), _jl("b")[:-1], {"a"}),  # only the newline missing
        ("csv", b"", b"", set()),
        ("csv", BOM + CSV_HEAD + _cv("a", "b"), b"", {"a", "b"}),
        ("csv", BOM + CSV_HEAD + _cv("a"), _cv("b")[:8], {"a"}),
        ("csv", BOM + CSV_HEAD + _cv("a"), _cv("b")[:-12], {"a"}),  # inside a quoted multi-line answer
        ("csv", CSV_HEAD + _cv("a"), _cv("b")[:8], {"a"}),  # stdout redirected: no BOM
        ("csv", b"", BOM + CSV_HEAD[:9], set()),
        ("md", b"", b"", set()),
        ("md", MD_HEAD, b"", set()),
        ("md", MD_HEAD + _md("a", ODD_ID), b"", {"a", ODD_ID}),
        ("md", MD_HEAD + _md("a"), _md("b")[:-3], {"a"}),  # all but the end of its mark
        ("md", MD_HEAD + _md("a"), _md("b")[:12], {"a"}),
        ("md", MD_HEAD + _md("a") + _md("b")[:-1], b"", {"a", "b"}),  # only the closing blank line missing
        ("md", b"", MD_HEAD[:-3], set()),
    ],
    ids=[
        "jsonl-empty",
        "jsonl-whole",
        "jsonl-torn",
        "jsonl-torn-in-a-character",
        "jsonl-only-a-torn-line",
        "jsonl-bom-no-final-newline",
        "csv-empty",
        "csv-whole",
        "csv-torn",
        "csv-torn-in-quotes",
        "csv-no-bom",
        "csv-torn-header",
        "md-empty",
        "md-header-only",
        "md-whole-odd-id",
        "md-torn-mark",
        "md-torn-record",
        "md-no-closing-blank",
        "md-torn-header",
    ],
)
def test_resume_keeps_whole_records_and_cuts_a_torn_tail(tmp_path, fmt, whole, tail, ids) -> None:
    out = tmp_path / f"out.{fmt}"
    out.write_bytes(whole + tail)
    assert prepare_resume(out, fmt) == (ids, len(tail))
    assert out.read_bytes() == whole


@pytest.mark.parametrize(
    ("fmt", "content", "needle"),
    [
        ("jsonl", b"hello", "not a JSONL file written by assistant batch"),
        ("jsonl", _jl("a") + b"\xff\n", f"not UTF-8 text (byte 0xff at byte offset {len(_jl('a'))})"),
        ("csv", b"name,value\nx,1\n", "not a CSV written by assistant batch"),
        ("csv", BOM + CSV_HEAD + b'a,"x"y,\n' + _cv("b"), "line 2: malformed CSV"),
        ("md", b"notes", "not a Markdown report written by assistant batch"),
        (
            "md",
            MD_HEAD + b"## one\n\n`a` \xc2\xb7 zh\n\n## two\n\n`b` \xc2\xb7 zh\n\n",
            "carry no batch-id marks (written by an older assistant)",
        ),
        ("md", MD_HEAD + _md("a").replace(b'"a"', b"a"), "line 12 is not a mark written by"),
    ],
    ids=[
        "jsonl-one-foreign-line",
        "jsonl-not-utf8",
        "csv",
        "csv-broken-mid-file",
        "md",
        "md-old",
        "md-bad-mark",
    ],
)
def test_resume_refuses_a_file_batch_did_not_write_and_leaves_it(tmp_path, fmt, content, needle) -> None:
    out = tmp_path / f"out.{fmt}"
    out.write_bytes(content)
    with pytest.raises(BatchInputError, match=re.escape(needle)):
        prepare_resume(out, fmt)
    assert out.read_bytes() == content


# ---------------------------------------------------------------- memory


# The child's peak comes from VmHWM, which counts only its own memory: ru_maxrss would also count the
# pytest process's peak, inherited through vfork and exec, and hide what prepare_resume took.
_CHILD = """
import re, resource, sys
from pathlib import Path
from assistant.apps.batch_resume import prepare_resume
if sys.argv[1] != "-":
    ids, dropped = prepare_resume(Path(sys.argv[1]), sys.argv[2])
    assert len(ids) == int(sys.argv[3]) and dropped > 0, (len(ids), dropped)
try:
    print(re.search(r"VmHWM:\\s*(\\d+) kB", Path("/proc/self/status").read_text())[1])
except OSError:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
"""


def _peak_kib(*args: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, cwd=Path(__file__).parents[1]
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def _big_output(path: Path, fmt: str, n: int) -> None:
    """About n KiB of records (one per KiB, answers in CJK), with a torn last record."""
    answer = "贸易" * 160
    with path.open("wb") as f:
        if fmt == "csv":
            f.write(BOM + CSV_HEAD)
        elif fmt == "md":
            f.write(MD_HEAD)
        for i in range(n):
            if fmt == "jsonl":
                f.write(jline(id=f"q{i}", answer=answer).encode() + b"\n")
            elif fmt == "csv":
                f.write(csv_line([f"q{i}", "q", "zh", "true", answer, "", "", "", ""]).encode())
            else:
                f.write(render_md({"id": f"q{i}", "line": i, "error": answer, "question": "问题"}).encode())
        f.write(b'{"id": "torn' if fmt == "jsonl" else b'q-torn,q,zh,true,"half')


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "md"])
def test_resume_reads_a_large_output_in_bounded_memory(tmp_path, fmt) -> None:
    n = 50_000  # ~50 MB
    out = tmp_path / f"big.{fmt}"
    _big_output(out, fmt, n)
    assert out.stat().st_size > 45_000_000
    extra_mib = (_peak_kib(str(out), fmt, str(n)) - _peak_kib("-")) / 1024
    assert extra_mib < 40, f"prepare_resume peaked {extra_mib:.0f} MiB above an idle child"
