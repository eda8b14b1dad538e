"""Batch output files: no silent overwrite, never the input, the Markdown header, one copy of each
quote, a BOM for Excel in CSV files, and the summary after SIGTERM (hashing embedder, tiny corpus)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from assistant.apps.batch_io import render_md
from assistant.engine import Engine, Settings
from assistant.index.embedder import HashingEmbedder
from assistant.index.store import build_index, load_index
from assistant.records import Answer, Document
from tests.test_batch import Q, assert_one_line_error, jline, jsonl, run_cli

BOM = b"\xef\xbb\xbf"


class StoppingEngine(Engine):
    """The real engine; its second ask_many call is cut short by ``stop`` (Ctrl-C or SIGTERM)."""

    def __init__(self, *args: Any, stop: Callable[[], None]) -> None:
        super().__init__(*args)
        self.calls, self.stop = 0, stop

    def ask_many(
        self, questions: Sequence[str], k: int | None = None, doc_ids: Sequence[str] | None = None
    ) -> list[Answer]:
        self.calls += 1
        if self.calls == 2:
            self.stop()
        return super().ask_many(questions, k, doc_ids)


@pytest.fixture
def parts(documents: list[Document], embedder: HashingEmbedder, index_dir: Path, tmp_path: Path) -> tuple:
    build_index(documents, embedder, index_dir, "c1")
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=index_dir), embedder, load_index(index_dir)


@pytest.fixture
def engine(parts: tuple) -> Engine:
    return Engine(*parts)


def _questions(tmp_path: Path, n: int = 3) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(jline(id=f"q{i}", question=Q[i % len(Q)]) for i in range(n)) + "\n")
    return path


# ---------------------------------------------------------------- no silent overwrite


@pytest.mark.parametrize(
    ("before", "flags", "code", "kept"),
    [
        (b'{"id": "old"}\n', [], 2, True),
        (b'{"id": "old"}\n', ["--force"], 0, False),
        (b"", [], 0, False),  # an empty file (mktemp) holds nothing to lose
        (None, [], 0, False),
    ],
    ids=["existing-refused", "existing-forced", "empty", "new"],
)
def test_an_existing_output_is_only_overwritten_with_force(
    tmp_path, engine, capsys, before, flags, code, kept
) -> None:
    out = tmp_path / "out.jsonl"
    if before is not None:
        out.write_bytes(before)
    got, _, err = run_cli([_questions(tmp_path), "-o", out, *flags], engine, capsys)
    assert got == code
    if kept:
        assert_one_line_error(err)
        assert "already exists; add --force to overwrite it or --resume" in err
        assert out.read_bytes() == before
    else:
        assert [r["id"] for r in jsonl(out.read_text(encoding="utf-8"))] == ["q0", "q1", "q2"]


def test_force_and_resume_cannot_be_combined(tmp_path, engine, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli([_questions(tmp_path), "-o", tmp_path / "o.jsonl", "--force", "--resume"], engine, capsys)
    assert exc.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def _symlink(src: Path, dst: Path) -> None:
    dst.symlink_to(src)


@pytest.mark.parametrize("link", [None, _symlink, os.link], ids=["same-path", "symlink", "hard-link"])
@pytest.mark.parametrize("flags", [[], ["--force"], ["--resume"]], ids=["plain", "force", "resume"])
def test_an_output_that_is_the_input_is_refused_even_with_force(
    tmp_path, engine, capsys, link, flags
) -> None:
    source = _questions(tmp_path)
    before = source.read_bytes()
    out = source
    if link is not None:
        out = tmp_path / "out.jsonl"
        link(source, out)
    code, _, err = run_cli([source, "-o", out, *flags], engine, capsys)
    assert code == 2 and "would overwrite the input" in err
    assert_one_line_error(err)
    assert source.read_bytes() == before


# ---------------------------------------------------------------- csv for Excel


@pytest.mark.parametrize(
    ("args", "bom"),
    [(["-o", "out.csv"], True), (["--format", "csv"], False), (["-o", "out.csv", "--resume"], True)],
    ids=["file", "stdout", "resume-new-file"],
)
def test_a_csv_file_starts_with_one_utf8_bom(tmp_path, engine, capsys, args, bom) -> None:
    args = [tmp_path / a if a.startswith("out.") else a for a in args]
    code, out, _ = run_cli([_questions(tmp_path), *args], engine, capsys)
    assert code == 0
    data = (tmp_path / "out.csv").read_bytes() if "-o" in args else out.encode("utf-8")
    assert data.startswith(BOM) == bom and data.count(BOM) == int(bom)
    assert data.removeprefix(BOM).startswith(b"id,question,")


def test_resuming_a_csv_keeps_a_single_bom(tmp_path, engine, capsys) -> None:
    out = tmp_path / "out.csv"
    run_cli([_questions(tmp_path, 2), "-o", out], engine, capsys)
    code, _, _ = run_cli([_questions(tmp_path, 3), "-o", out, "--resume"], engine, capsys)
    data = out.read_bytes()
    assert code == 0 and data.startswith(BOM) and data.count(BOM) == 1
    assert data.decode("utf-8-sig").count("\nq") == 3


# ---------------------------------------------------------------- the Markdown report


@pytest.mark.parametrize(
    ("flags", "setting"),
    [
        ([], "passages per answer (k) 5; reader none (extractive answers); documents searched all"),
        (["-k", "2"], "passages per answer (k) 2;"),
        (["--doc", "alpha-2020"], "documents searched alpha-2020"),
    ],
    ids=["defaults", "k", "doc"],
)
def test_the_markdown_report_has_a_header_and_each_quote_once(
    tmp_path, engine, capsys, flags, setting
) -> None:
    questions = _questions(tmp_path, 4)
    _, out, _ = run_cli([questions, *flags], engine, capsys)
    records = jsonl(out)
    assert any(r["citations"] for r in records)
    report = tmp_path / "out.md"
    assert run_cli([questions, "-o", report, *flags], engine, capsys)[0] == 0
    head, *sections = report.read_text(encoding="utf-8").split("\n## ")
    assert head.startswith("# Answers: q.jsonl\n")
    assert "- Date: 20" in head and f"- Model: `{engine.index.manifest.model_name}`" in head
    assert f"- Corpus: {engine.settings.corpus_dir} (2 documents)" in head
    assert setting in head
    assert len(sections) == len(records)
    for record, section in zip(records, sections, strict=True):
        for c in record["citations"]:
            assert section.count(c["quote"]) == 1, c["quote"]


@pytest.mark.parametrize(
    ("answer", "blockquote"),
    [
        ("据《边境后措施》（一、概念）：“负向一体化是指消除壁垒。”[1]", False),
        ("Negative integration removes discriminatory barriers. [1]", True),
    ],
    ids=["answer-quotes-it", "answer-renders-it"],
)
def test_a_quote_is_shown_under_its_source_only_when_the_answer_lacks_it(answer, blockquote) -> None:
    quote = "负向一体化是指消除壁垒。"
    cite = {"n": 1, "ref": "a:p1", "title": "标题", "section": "一、概念", "quote": quote}
    record = {
        "id": "x",
        "lang": "zh",
        "answerable": True,
        "answer": answer,
        "citations": [cite],
        "passages": [],
    }
    text = render_md(record)
    assert text.count(quote) == 1
    assert "- [1] `a:p1` · 《标题》 · 一、概念" in text
    assert (f"  > {quote}" in text) == blockquote


# ---------------------------------------------------------------- stopping


class _Unhandled(Exception):
    pass


@pytest.fixture
def sigterm_guard():
    """A SIGTERM handler for the test process: without batch's own, SIGTERM must not kill pytest."""

    def unhandled(signum: int, frame: object) -> None:
        raise _Unhandled

    previous = signal.signal(signal.SIGTERM, unhandled)
    yield unhandled
    signal.signal(signal.SIGTERM, previous)


def _ctrl_c() -> None:
    raise KeyboardInterrupt


def _sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize(
    ("stop", "code", "how"),
    [(_ctrl_c, 130, "interrupted after"), (_sigterm, 143, "interrupted by SIGTERM after")],
    ids=["ctrl-c", "sigterm"],
)
def test_a_stopped_run_keeps_its_records_and_prints_the_summary(
    tmp_path, parts, capsys, sigterm_guard, stop, code, how
) -> None:
    out = tmp_path / "out.jsonl"
    questions = tmp_path / "many.txt"
    questions.write_text("".join(f"{Q[i % len(Q)]}\n" for i in range(20)), encoding="utf-8")
    got, _, err = run_cli([questions, "-o", out], StoppingEngine(*parts, stop=stop), capsys)
    assert got == code
    assert "assistant: answered 16, errors 0 in " in err
    assert f"{how} 16 of 20; re-run with --resume to continue" in err
    assert [r["id"] for r in jsonl(out.read_text(encoding="utf-8"))] == [f"line-{i}" for i in range(1, 17)]
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard  # batch put the previous handler back


@pytest.mark.parametrize(
    ("completed", "elapsed", "rate"),
    [
        (16, 0.002, None),  # a whole window written in microseconds: no 8,000 q/s
        (0, 5.0, None),
        (16, 2.0, 8.0),
        (45, 15.0, 3.0),
        (16, None, None),
    ],
)
def test_the_bar_rate_counts_answering_since_it_began(completed, elapsed, rate) -> None:
    from assistant.apps.batch import answering_rate

    assert answering_rate(completed, elapsed) == rate
