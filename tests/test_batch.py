"""Batch mode over the tiny corpus with a hashing embedder: formats, bad lines, resume, Ctrl-C, batching."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from assistant.answer.record import schema_problems
from assistant.apps.batch import add_parser, cmd_batch, run_batch
from assistant.apps.batch_io import CSV_COLUMNS, BadLine, Item, read_questions
from assistant.apps.batch_resume import prepare_resume
from assistant.engine import Engine, Settings
from assistant.index.embedder import HashingEmbedder
from assistant.index.manifest import corpus_hash
from assistant.index.store import build_index, load_index
from assistant.ingest.corpus import load_corpus
from assistant.records import Answer, Document

Q = [
    "负向一体化是指什么？",
    "What does negative integration mean?",
    "多哈回合谈判什么时候开始？",
    "协商一致的问题",
]


class CountingEngine(Engine):
    """The real engine, recording the questions of every ask_many call."""

    def __init__(self, *args: Any, interrupt_on_call: int | None = None) -> None:
        super().__init__(*args)
        self.calls: list[list[str]] = []
        self.interrupt_on_call = interrupt_on_call

    def ask_many(
        self, questions: Sequence[str], k: int | None = None, doc_ids: Sequence[str] | None = None
    ) -> list[Answer]:
        self.calls.append(list(questions))
        if len(self.calls) == self.interrupt_on_call:
            raise KeyboardInterrupt  # what Ctrl-C during the model call looks like
        return super().ask_many(questions, k, doc_ids)


class ListWriter:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)


@pytest.fixture
def parts(documents: list[Document], embedder: HashingEmbedder, index_dir: Path, tmp_path: Path) -> tuple:
    build_index(documents, embedder, index_dir, "c1")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=index_dir)
    return settings, embedder, load_index(index_dir)


@pytest.fixture
def engine(parts: tuple) -> CountingEngine:
    return CountingEngine(*parts)


def run_cli(args: list[str], engine: Engine, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="assistant")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--index", type=Path)
    add_parser(parser.add_subparsers(dest="command"))
    ns = parser.parse_args(["batch", *[str(a) for a in args]])
    ns.embedder = None
    code = ns.func(ns, open_engine=lambda: engine)
    out, err = capsys.readouterr()
    return code, out, err


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def jline(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False)


def assert_one_line_error(err: str) -> None:
    assert err.startswith("assistant: error: ")
    assert err.count("\n") == 1 and "Traceback" not in err


# ---------------------------------------------------------------- input formats


@pytest.mark.parametrize(
    ("name", "text", "ids", "passed"),
    [
        (
            "q.txt",
            f"# a comment\n\n{Q[0]}\n   \n  # indented comment\n{Q[1]}\n",
            ["line-3", "line-6"],
            {},
        ),
        (
            "q.jsonl",
            "\n".join(
                [
                    jline(id="a", question=Q[0], topic="def", answer="gold answer"),
                    "",
                    jline(question=Q[1], topic="en"),
                ]
            )
            + "\n",
            ["a", "line-3"],
            {"topic": "def", "input": {"answer": "gold answer"}},
        ),
        (
            "q.csv",
            f'ID,Question,topic,answer\na,{Q[0]},def,gold answer\n,"{Q[1]}",en,\n',
            ["a", "line-3"],
            {"topic": "def", "input": {"answer": "gold answer"}},
        ),
    ],
    ids=["txt", "jsonl", "csv"],
)
def test_input_formats(tmp_path, engine, capsys, name, text, ids, passed) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli([path], engine, capsys)
    assert code == 0, err
    records = jsonl(out)
    assert [r["id"] for r in records] == ids
    assert [r["question"] for r in records] == Q[:2]
    assert all(schema_problems(r) == [] for r in records)
    for key, value in passed.items():
        assert records[0][key] == value
    assert "answered 2, errors 0" in err


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("q.txt", f"{Q[0]}\r\n# c\r\n{Q[1]}\r\n"),
        ("q.jsonl", jline(id="a", question=Q[0]) + "\r\n" + jline(id="b", question=Q[1]) + "\r\n"),
        ("q.csv", f'id,question\r\na,{Q[0]}\r\nb,"{Q[1]}"\r\n'),
    ],
    ids=["txt", "jsonl", "csv"],
)
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-bom", "bom"])
def test_bom_and_crlf(tmp_path, name, text, bom) -> None:
    path = tmp_path / name
    path.write_bytes(bom + text.encode("utf-8"))
    rows = list(read_questions(path))
    assert all(isinstance(r, Item) for r in rows)
    assert [r.question for r in rows] == Q[:2]  # no \r, no \ufeff
    assert rows[0].qid in ("line-1", "a")


@pytest.mark.parametrize("name", ["q.txt", "q.jsonl", "q.csv"])
def test_non_utf8_input_is_refused_with_the_byte_offset(tmp_path, engine, capsys, name) -> None:
    path = tmp_path / name
    path.write_bytes(b"id,question\n" + "a,负向一体化是什么？\n".encode("gb18030"))
    code, out, err = run_cli([path, "-o", tmp_path / "out.jsonl"], engine, capsys)
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert str(path) in err and "byte offset 14" in err  # 12 header bytes, "a,", then the first GB18030 byte
    assert engine.calls == [] and not (tmp_path / "out.jsonl").exists()


def _file(name: str, text: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).write_text(text, encoding="utf-8")
        return d / name

    return make


def _directory(d: Path) -> Path:
    (d / "q.csv").mkdir()
    return d / "q.csv"


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda d: d / "missing.txt", "no such file"),
        (_file("q.csv", "id,text\na,负向一体化\n"), "'question' column (found: id, text)"),
        (_file("q.csv", ""), "'question' column (found: nothing)"),
        (_file("q.json", "{}"), "--input-format"),
        (_file("q.txt", "# only a comment\n\n"), "no questions"),
        (_directory, "cannot read"),
    ],
    ids=["missing", "csv-no-question", "csv-empty", "unknown-ext", "only-comments", "directory"],
)
def test_unusable_input_exit_2(tmp_path, engine, capsys, setup, needle) -> None:
    code, out, err = run_cli([setup(tmp_path)], engine, capsys)
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert needle in err
    assert engine.calls == []


# ---------------------------------------------------------------- bad lines


@pytest.mark.parametrize(
    ("bad", "qid", "needle"),
    [
        ('{"id": "x", "question": ', "line-2", "invalid JSON"),
        ('["id", "question"]', "line-2", "not an array"),
        ('"just a string"', "line-2", "not a string"),
        (jline(id="x", topic="no question"), "x", "missing question"),
        (jline(id="x", question="   "), "x", "empty question"),
        (jline(id="x", question=42), "x", "question must be a string"),
        (jline(id=["x"], question=Q[2]), "line-2", "id must be"),
        (jline(id="x", question="贸" * 20_000), "x", "too long"),
        (jline(id="x", question="Что такое интеграция?"), "x", "Chinese or English"),
    ],
    ids=[
        "bad-json",
        "array",
        "string",
        "missing-question",
        "empty-question",
        "number-question",
        "array-id",
        "20k-chars",
        "russian",
    ],
)
def test_malformed_line_gives_an_error_record_and_the_rest_are_answered(
    tmp_path, engine, capsys, bad, qid, needle
) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join([jline(id="a", question=Q[0]), bad, jline(id="b", question=Q[1])]) + "\n")
    code, out, err = run_cli([path], engine, capsys)
    assert code == 3
    first, error, last = jsonl(out)
    assert error["id"] == qid and error["line"] == 2 and needle in error["error"]
    assert "answerable" not in error
    assert schema_problems(first) == [] and schema_problems(last) == []
    assert f"line 2 ({qid}): " in err and needle in err
    assert "1 of 3 questions produced error records" in err


def test_duplicate_ids_error_for_the_later_one(tmp_path, engine, capsys) -> None:
    path = tmp_path / "q.csv"
    path.write_text(f"id,question\na,{Q[0]}\nb,{Q[1]}\na,{Q[2]}\n", encoding="utf-8")
    code, out, _ = run_cli([path], engine, capsys)
    assert code == 3
    records = jsonl(out)
    assert [r["id"] for r in records] == ["a", "b", "a"]
    assert records[0]["question"] == Q[0] and "error" not in records[0]
    assert records[2] == {
        "id": "a",
        "line": 4,
        "error": "duplicate id (first used on line 2)",
        "question": Q[2],
    }
    assert engine.calls == [Q[:2]]


# ---------------------------------------------------------------- output formats


def _questions_with_a_bad_line(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    lines = [
        jline(id="a", question=Q[0]),
        jline(id="b", question=Q[2]),
        "{oops",
        jline(id="c", question=Q[1]),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_jsonl(text: str) -> None:
    records = jsonl(text)
    assert [r["id"] for r in records] == ["a", "b", "line-3", "c"]
    assert all(schema_problems(r) == [] for r in records if "error" not in r)
    assert records[2]["line"] == 3 and "invalid JSON" in records[2]["error"]


def check_csv(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_id = {r[0]: dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert list(by_id) == ["a", "b", "line-3", "c"] and len(rows) == 5
    assert by_id["a"]["question"] == Q[0] and by_id["a"]["answerable"] == "true"
    assert by_id["a"]["first_ref"] == "alpha-2020:p1" and by_id["a"]["first_quote"]
    assert by_id["a"]["refs"].split()[0] == "alpha-2020:p1" and by_id["a"]["error"] == ""
    assert by_id["line-3"]["error"].startswith("line 3: invalid JSON") and by_id["line-3"]["answer"] == ""


def check_md(text: str) -> None:
    assert text.startswith("# Answers: q.jsonl\n")
    assert f"## {Q[0]}\n" in text and f"## {Q[2]}\n" in text and "## line-3\n" in text
    assert "\n- [1] `alpha-2020:p1` · 《边境后措施研究》 · 一、概念\n" in text
    assert "**Error** (`line-3`, line 3): invalid JSON" in text


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (["-o", "out.jsonl"], check_jsonl),
        ([], check_jsonl),
        (["-o", "out.csv"], check_csv),
        (["--format", "csv"], check_csv),
        (["-o", "out.txt", "--format", "csv"], check_csv),
        (["-o", "out.md"], check_md),
        (["--format", "md"], check_md),
    ],
    ids=["jsonl-file", "jsonl-stdout", "csv-file", "csv-stdout", "csv-forced", "md-file", "md-stdout"],
)
def test_output_formats(tmp_path, engine, capsys, args, check) -> None:
    args = [tmp_path / a if a.startswith("out.") else a for a in args]
    code, out, _ = run_cli([_questions_with_a_bad_line(tmp_path), *args], engine, capsys)
    assert code == 3
    check(out if "-o" not in args else (tmp_path / args[1].name).read_text(encoding="utf-8-sig"))
    assert out == "" or "-o" not in args


def test_unknown_output_extension_exit_2(tmp_path, engine, capsys) -> None:
    code, _, err = run_cli(
        [_questions_with_a_bad_line(tmp_path), "-o", tmp_path / "out.json"], engine, capsys
    )
    assert code == 2 and "--format" in err
    assert_one_line_error(err)


# ---------------------------------------------------------------- resume


def _three_questions(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(jline(id=i, question=q) for i, q in zip("abc", Q, strict=False)) + "\n")
    return path


def _full_output(tmp_path: Path, parts: tuple, suffix: str) -> bytes:
    out = tmp_path / f"full{suffix}"
    args = argparse.Namespace(
        input=_three_questions(tmp_path),
        output=out,
        format=None,
        input_format=None,
        resume=False,
        force=False,
        k=None,
        doc=None,
    )
    assert cmd_batch(args, open_engine=lambda: CountingEngine(*parts)) == 0
    return out.read_bytes()


def _cut_jsonl_mid_line(full: bytes) -> bytes:
    lines = full.splitlines(keepends=True)
    return lines[0] + lines[1][:40]


def _cut_jsonl_inside_a_character(full: bytes) -> bytes:
    lines = full.splitlines(keepends=True)
    lead = next(i for i, b in enumerate(lines[1]) if b >= 0xE0)  # first byte of a 3-byte CJK character
    return lines[0] + lines[1][: lead + 1]


def _csv_rows_bytes(full: bytes) -> list[bytes]:
    rows, pos, reader = [], 0, csv.reader(io.StringIO(full.decode()))
    lines = full.decode().split("\n")
    for _ in reader:
        end = sum(len(x.encode()) + 1 for x in lines[: reader.line_num])
        rows.append(full[pos:end])
        pos = end
    return rows


def _cut_csv_mid_line(full: bytes) -> bytes:
    rows = _csv_rows_bytes(full)
    return rows[0] + rows[1] + rows[2][:12]


def _cut_csv_inside_a_quoted_multiline_field(full: bytes) -> bytes:
    rows = _csv_rows_bytes(full)
    return rows[0] + rows[1] + b'b,q,zh,true,"first line of an answer\n'


@pytest.mark.parametrize(
    ("suffix", "cut", "done_before", "dropped"),
    [
        (".jsonl", _cut_jsonl_mid_line, 1, True),
        (".jsonl", _cut_jsonl_inside_a_character, 1, True),
        (".jsonl", lambda full: full.splitlines(keepends=True)[0], 1, False),
        (".csv", _cut_csv_mid_line, 1, True),
        (".csv", _cut_csv_inside_a_quoted_multiline_field, 1, True),
        (".csv", lambda full: b"id,ques", 0, True),
    ],
    ids=[
        "jsonl-mid-line",
        "jsonl-mid-char",
        "jsonl-complete",
        "csv-mid-line",
        "csv-open-quote",
        "csv-half-header",
    ],
)
def test_resume_skips_done_ids_and_repairs_a_truncated_last_line(
    tmp_path, parts, capsys, suffix, cut, done_before, dropped
) -> None:
    full = _full_output(tmp_path, parts, suffix)
    out = tmp_path / f"out{suffix}"
    out.write_bytes(cut(full))
    engine = CountingEngine(*parts)
    code, _, err = run_cli([_three_questions(tmp_path), "-o", out, "--resume"], engine, capsys)
    assert code == 0, err
    assert engine.calls == [Q[done_before:3]]
    text = out.read_text(encoding="utf-8-sig")
    if suffix == ".jsonl":
        assert [r["id"] for r in jsonl(text)] == ["a", "b", "c"]
    else:
        rows = list(csv.reader(io.StringIO(text)))
        assert tuple(rows[0]) == CSV_COLUMNS and [r[0] for r in rows[1:]] == ["a", "b", "c"]
    assert f"skipped {done_before} (resume)" in err
    assert ("dropped a cut-off last record" in err) == dropped


def test_resume_with_everything_done_asks_nothing(tmp_path, parts, capsys) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(_full_output(tmp_path, parts, ".jsonl"))
    engine = CountingEngine(*parts)
    code, _, err = run_cli([_three_questions(tmp_path), "-o", out, "--resume"], engine, capsys)
    assert code == 0 and engine.calls == [] and "answered 0, errors 0, skipped 3 (resume)" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-o", "out.md", "--resume"], "not a Markdown report written by assistant batch"),
        (["--resume"], "--resume needs the output file"),
        (["-o", "q.jsonl"], "would overwrite the input"),
    ],
    ids=["md-not-from-batch", "no-output", "same-file"],
)
def test_refused_arguments(tmp_path, engine, capsys, args, needle) -> None:
    (tmp_path / "out.md").write_text("# Answers\n")
    args = [tmp_path / a if a.startswith(("out.", "q.")) else a for a in args]
    code, _, err = run_cli([_three_questions(tmp_path), *args], engine, capsys)
    assert code == 2 and needle in err and engine.calls == []
    assert_one_line_error(err)


@pytest.mark.parametrize(
    ("suffix", "content", "needle"),
    [
        (".jsonl", b'{"id": "a"}\nnot json\n', "line 2 is not a record"),
        (".csv", b"question,answer\nq,a\n", "not a CSV written by assistant batch"),
    ],
    ids=["jsonl", "csv"],
)
def test_resume_refuses_a_foreign_output_file(tmp_path, suffix, content, needle) -> None:
    from assistant.apps.batch_io import BatchInputError

    out = tmp_path / f"out{suffix}"
    out.write_bytes(content)
    with pytest.raises(BatchInputError, match=needle):
        prepare_resume(out, suffix[1:])
    assert out.read_bytes() == content  # nothing truncated


def test_resume_of_a_missing_file_starts_fresh(tmp_path, engine, capsys) -> None:
    code, _, _ = run_cli([_three_questions(tmp_path), "-o", tmp_path / "new.csv", "--resume"], engine, capsys)
    assert code == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "new.csv").read_text(encoding="utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 4


# ---------------------------------------------------------------- long runs


def _many_questions(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "many.txt"
    path.write_text("".join(f"{Q[i % len(Q)]}\n" for i in range(n)), encoding="utf-8")
    return path


def test_interrupt_keeps_finished_records_and_exits_130(tmp_path, parts, capsys) -> None:
    out = tmp_path / "out.jsonl"
    engine = CountingEngine(*parts, interrupt_on_call=2)
    code, _, err = run_cli([_many_questions(tmp_path, 20), "-o", out], engine, capsys)
    assert code == 130
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    records = jsonl(text)
    assert [r["id"] for r in records] == [f"line-{i}" for i in range(1, 17)]
    assert all(schema_problems(r) == [] for r in records)
    assert "interrupted after 16 of 20; re-run with --resume to continue" in err

    engine = CountingEngine(*parts)
    code, _, _ = run_cli([_many_questions(tmp_path, 20), "-o", out, "--resume"], engine, capsys)
    assert code == 0 and [len(c) for c in engine.calls] == [4]
    assert [r["id"] for r in jsonl(out.read_text(encoding="utf-8"))] == [f"line-{i}" for i in range(1, 21)]


@pytest.mark.parametrize(
    ("n", "batch_size", "sizes"), [(40, 16, [16, 16, 8]), (7, 3, [3, 3, 1]), (16, 16, [16])]
)
def test_engine_is_called_with_batches(tmp_path, engine, n, batch_size, sizes) -> None:
    writer = ListWriter()
    stats = run_batch(
        engine, list(read_questions(_many_questions(tmp_path, n))), writer, batch_size=batch_size
    )
    assert [len(c) for c in engine.calls] == sizes
    assert stats.answered == n and stats.errors == 0 and not stats.interrupted
    assert [r["id"] for r in writer.records] == [f"line-{i}" for i in range(1, n + 1)]


def test_one_bad_question_falls_back_to_one_by_one_for_its_batch(engine) -> None:
    items = [Item("a", Q[0], 1), Item("long", "贸" * 20_000, 2), Item("b", Q[1], 3), Item("c", Q[2], 4)]
    writer = ListWriter()
    stats = run_batch(engine, items, writer, batch_size=3)
    assert [len(c) for c in engine.calls] == [3, 1, 1, 1, 1]
    assert [r["id"] for r in writer.records] == ["a", "long", "b", "c"]
    assert "too long" in writer.records[1]["error"] and writer.records[1]["line"] == 2
    assert (stats.answered, stats.errors) == (3, 1)


def test_bad_lines_keep_input_order_and_do_not_count_towards_a_batch(engine) -> None:
    rows = [Item("a", Q[0], 1), BadLine("line-2", 2, "invalid JSON"), Item("b", Q[1], 3), Item("c", Q[2], 4)]
    writer, logged = ListWriter(), []
    stats = run_batch(engine, rows, writer, batch_size=2, log=logged.append, done_ids={"c"})
    assert [r["id"] for r in writer.records] == ["a", "line-2", "b"]
    assert engine.calls == [Q[:2]]
    assert logged == ["line 2 (line-2): invalid JSON"]
    assert (stats.total, stats.answered, stats.errors, stats.skipped) == (4, 2, 1, 1)


def test_k_and_doc_filter_reach_the_engine(tmp_path, engine, capsys) -> None:
    code, out, _ = run_cli([_three_questions(tmp_path), "-k", "2", "--doc", "beta-2023"], engine, capsys)
    assert code == 0
    for record in jsonl(out):
        assert len(record["passages"]) == 2 and {p["doc_id"] for p in record["passages"]} == {"beta-2023"}


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path, engine, capsys) -> None:
    code, _, err = run_cli([_many_questions(tmp_path, 3), "-o", tmp_path / "o.jsonl"], engine, capsys)
    assert code == 0
    assert err.count("\n") == 1 and err.startswith("assistant: answered 3, errors 0 in ")
    assert "questions/s" in err


def test_opens_the_engine_from_settings_when_none_is_injected(tmp_path, corpus, capsys) -> None:
    index = tmp_path / "idx"
    build_index(load_corpus(corpus), HashingEmbedder(64), index, corpus_hash(corpus))
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--index", type=Path)
    add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["--corpus", str(corpus), "--index", str(index), "batch", str(_three_questions(tmp_path))]
    )
    args.embedder = HashingEmbedder(64)
    assert args.func(args) == 0
    out, _ = capsys.readouterr()
    assert [r["id"] for r in jsonl(out)] == ["a", "b", "c"]
