"""``assistant eval`` as a person reads it: a summary in words that fits the terminal, pass/fail per
threshold, a legend, and a report listing every failed question (hashing embedder, tiny corpus)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from assistant.answer.evals import METRICS, check_thresholds
from tests.conftest import run_cli as run

# demo-2020: p1 defines negative integration, p2 positive integration (tests/conftest.py TEXT).
ITEMS = [
    {
        "id": "z1",
        "question": "什么是负向一体化？",
        "lang": "zh",
        "answerable": True,
        "doc_id": "demo-2020",
        "evidence": ["负向一体化（negative integration）是指消除歧视性的贸易壁垒"],
    },
    {
        "id": "z2",
        "question": "正向一体化是什么？",
        "lang": "zh",
        "answerable": True,
        "doc_id": "demo-2020",
        "evidence": ["各国需要协调监管标准"],  # the second sentence: the first quote misses it
    },
    {
        "id": "e1",
        "question": "What is positive integration?",
        "lang": "en",
        "answerable": True,
        "doc_id": "demo-2020",
        "evidence": ["建立共同的规则和制度"],
    },
    {"id": "e2", "question": "Who won the 1998 World Cup?", "lang": "en", "answerable": False},
]


@pytest.fixture
def questions(corpus: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    run(["index"], corpus, capsys)
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("columns", [80, 60, 120])
def test_every_line_fits_the_terminal(questions, corpus, capsys, monkeypatch, columns) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    (questions.parent / "mine.thresholds.toml").write_text('[all]\nrank1 = 0.9\n["lang=en"]\ntop5 = 1.0\n')
    code, out, _ = run(["eval", "--questions", str(questions), "--failures"], corpus, capsys)
    assert code == 0
    assert max(cell_len(line) for line in out.splitlines()) <= columns
    assert all(line == line.rstrip() for line in out.splitlines())


def test_the_summary_comes_first_in_words_per_language(questions, corpus, capsys) -> None:
    code, out, _ = run(["eval", "--questions", str(questions)], corpus, capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Evaluation of mine.jsonl: 4 questions (2 Chinese, 2 English), model hashing")
    summary = " ".join(" ".join(lines[1:9]).split())
    for words in (
        "all 4 questions: right paragraph first 100.0%; quote holds the answer 66.7%; unanswerable "
        "declined 0.0%; wrongly declined 0.0%",
        "Chinese 2 questions: right paragraph first 100.0%",
        "English 2 questions:",
    ):
        assert words in summary
    assert not re.search(r"\bpass\b|FAIL", out)  # no thresholds file, nothing to mark
    for m in METRICS[1:]:  # the legend explains every row, with the key thresholds files use
        assert f"[{m.key}]" in out and m.label in out
    assert "| group |" not in out  # the wide table went to the report


@pytest.mark.parametrize(
    ("thresholds", "marks", "code", "stderr"),
    [
        ('[all]\nrank1 = 0.9\nquote_exact = 1.0\n["lang=en"]\nmax_false_abstention = 0.0\n', 3, 0, ""),
        (
            '[all]\nrank1 = 0.9\n["lang=en"]\nabstention_recall = 0.5\n',
            1,
            1,
            "below threshold: lang=en.abstention_recall = 0.000 < 0.5",
        ),
        (
            '["lang=zh"]\nrank1 = 1.0\nabstention_recall = 0.5\n',
            1,
            1,
            "lang=zh.abstention_recall: not measured",
        ),
    ],
    ids=["all-pass", "one-fails", "not-measured"],
)
def test_each_gated_number_is_marked_and_check_exits_as_before(
    questions, corpus, capsys, thresholds, marks, code, stderr
) -> None:
    (questions.parent / "mine.thresholds.toml").write_text(thresholds)
    got, out, _ = run(["eval", "--questions", str(questions)], corpus, capsys)
    assert got == 0  # without --check the marks inform, they do not gate
    table = out.split("\nmeasured")[1].split("\n\n")[0]
    assert len(re.findall(r"\bpass\b", table)) == marks and table.count(" FAIL") == (code != 0)
    verdict = " ".join(out.split()).split("Thresholds (")[1].split("): ")[1]
    assert verdict.startswith(f"all {marks} pass" if code == 0 else "1 of 2 FAIL")
    got, _, err = run(["eval", "--questions", str(questions), "--check"], corpus, capsys)
    assert got == code and stderr in err


def test_check_without_thresholds_fails_before_loading_anything(questions, corpus, capsys) -> None:
    code, out, err = run(["eval", "--questions", str(questions), "--check"], corpus, capsys)
    assert code == 2 and out == "" and "no thresholds for mine.jsonl" in err


def test_the_report_lists_every_failed_question_with_evidence_and_citations(
    questions, corpus, capsys, tmp_path
) -> None:
    report = tmp_path / "report.md"
    code, out, _ = run(["eval", "--questions", str(questions), "--report", str(report)], corpus, capsys)
    assert code == 0 and f"2 of 4 questions failed a check; wrote {report}" in " ".join(out.split())
    text = report.read_text(encoding="utf-8")
    assert "| group | n | rank1 |" in text and "| doc=demo-2020 |" in text and "## Legend" in text
    failed = text.split("## Failed questions: 2 of 4")[1]
    z2, e2 = failed.split("\n### ")[1:]
    assert z2.startswith("1. `z2` (zh): first quote does not hold the gold evidence")
    assert "正向一体化是什么？" in z2 and "> 各国需要协调监管标准" in z2 and "> — `demo-2020:p2`" in z2
    assert e2.startswith("2. `e2` (en): answered although the documents cannot answer it")
    assert (
        "Who won the 1998 World Cup?" in e2 and "**Expected:** a decline" in e2 and "> — `demo-2020:p" in e2
    )


def test_a_report_into_a_missing_folder_is_refused_before_the_run(
    questions, corpus, capsys, tmp_path
) -> None:
    report = tmp_path / "nowhere" / "report.md"
    code, out, err = run(["eval", "--questions", str(questions), "--report", str(report)], corpus, capsys)
    assert code == 2 and out == "" and "no folder" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("limits", "problems"),
    [
        ({"all": {"rank1": 0.9}}, []),
        ({"all": {"rank1": 0.95}}, []),  # the limit itself passes
        ({"all": {"rank1": 0.96}}, ["all.rank1 = 0.950 < 0.96"]),
        ({"all": {"max_false_abstention": 0.1}}, []),
        ({"all": {"max_false_abstention": 0.05}}, ["all.false_abstention = 0.100 > 0.05"]),
        ({"lang=en": {"rank1": 0.5}}, ["lang=en.rank1: not measured"]),
    ],
)
def test_gating_semantics_are_unchanged(limits, problems) -> None:
    table = {"all": {"rank1": 0.95, "false_abstention": 0.1}}
    assert check_thresholds(table, limits) == problems
