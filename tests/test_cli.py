"""The command line: exit codes, one-line errors, JSON output (hashing embedder, tiny corpus)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.answer.record import schema_problems
from assistant.apps.cli import thresholds_path
from tests.conftest import TEXT, assert_one_line_error
from tests.conftest import run_cli as run


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("   ", "empty question"),
        ("贸" * 20_000, "too long"),
        ("Какой сегодня день?", "Chinese or English"),
    ],
)
def test_bad_question_exit_2(corpus, capsys, question, needle) -> None:
    code, out, err = run(["ask", question], corpus, capsys)
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert needle in err


def test_ask_without_index_names_the_fix(corpus, capsys) -> None:
    code, _, err = run(["ask", "什么是负向一体化？"], corpus, capsys)
    assert code == 1
    assert_one_line_error(err)
    assert "assistant index" in err


def test_index_then_ask_json_and_show(corpus, capsys) -> None:
    code, out, _ = run(["index"], corpus, capsys)
    assert code == 0 and "indexed 1 documents" in out
    code, out, _ = run(["ask", "--json", "什么是负向一体化？"], corpus, capsys)
    assert code == 0
    record = json.loads(out)
    assert schema_problems(record) == []
    assert record["passages"][0]["doc_id"] == "demo-2020"
    ref = record["passages"][0]["ref"]
    code, out, _ = run(["show", ref], corpus, capsys)
    assert code == 0 and ref in out


def test_show_unknown_ref(corpus, capsys) -> None:
    run(["index"], corpus, capsys)
    code, _, err = run(["show", "demo-2020:p999"], corpus, capsys)
    assert code == 2
    assert_one_line_error(err)


def test_changed_corpus_makes_index_stale(corpus, capsys) -> None:
    run(["index"], corpus, capsys)
    (corpus / "demo-2020.txt").write_text(TEXT + "\n三、新增\n\n新增段落。\n", encoding="utf-8")
    code, _, err = run(["ask", "什么是负向一体化？"], corpus, capsys)
    assert code == 1 and "out of date" in err


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda d: [p.unlink() for p in d.iterdir()], "has no documents"),
        (lambda d: (d / "demo-2020.txt").write_bytes(b""), "empty"),
        (lambda d: (d / "demo-2020.txt").write_bytes("负向一体化".encode("gb18030")), "UTF-8"),
        (lambda d: (d / "demo-2020.toml").unlink(), "toml"),
    ],
)
def test_bad_corpus_gives_one_line_error_and_keeps_index(corpus, capsys, setup, needle) -> None:
    run(["index"], corpus, capsys)
    setup(corpus)
    code, _, err = run(["index"], corpus, capsys)
    assert code == 1
    assert_one_line_error(err)
    assert needle.lower() in err.lower()
    assert (corpus.parent / "index" / "CURRENT").exists()


def test_missing_corpus_dir(tmp_path, capsys) -> None:
    code, _, err = run(["index"], tmp_path / "nowhere", capsys)
    assert code == 1
    assert_one_line_error(err)


@pytest.mark.parametrize(
    ("flag", "kind"), [([], "flat"), (["--index-type", "flat"], "flat"), (["--index-type", "hnsw"], "hnsw")]
)
def test_index_type_is_chosen_and_recorded(corpus, capsys, flag, kind) -> None:
    code, _, _ = run(["index", *flag], corpus, capsys)
    assert code == 0
    index_dir = corpus.parent / "index"
    name = (index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((index_dir / "builds" / name / "manifest.json").read_text())
    assert manifest["extra"]["vector_index"] == kind
    code, out, _ = run(["ask", "--no-server", "--json", "什么是负向一体化？"], corpus, capsys)
    assert code == 0 and json.loads(out)["passages"]


def test_unknown_index_type_from_the_environment(corpus, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_TYPE", "ivf")
    code, _, err = run(["index"], corpus, capsys)
    assert code == 1
    assert_one_line_error(err)
    assert "unknown index type 'ivf'" in err


def test_explain_shows_the_abstention_rule_inputs(corpus, capsys) -> None:
    run(["index"], corpus, capsys)
    code, out, _ = run(["ask", "--explain", "什么是负向一体化？"], corpus, capsys)
    assert code == 0 and "abstention (uncalibrated): dense " in out and " vs bar " in out
    assert re.search(r"\(the corpus covers [01]\.\d\d of the question\)", out)
    code, out, _ = run(["ask", "--json", "--explain", "什么是负向一体化？"], corpus, capsys)
    explain = json.loads(out)["explain"]
    assert 0.0 < explain["lexical_coverage"] <= 1.0
    keys = set(explain["abstention"])
    assert {"dense", "bar", "lead", "clear_margin", "margin_floor", "min_support", "policy"} <= keys
    for c in explain["candidates"]:  # the slice quoted from, never worse than the window that ranks
        assert c["slice_kind"] in ("window", "sentence") and c["slice"] >= c["dense"]
        assert c["slice_kind"] == "sentence" or c["slice"] == c["dense"]


@pytest.mark.parametrize(
    ("questions", "thresholds"),
    [
        ("evals/questions.jsonl", "evals/thresholds.toml"),
        ("evals/short.jsonl", "evals/short.thresholds.toml"),
        ("/x/holdout.jsonl", "/x/holdout.thresholds.toml"),
    ],
)
def test_each_question_file_has_its_own_thresholds(questions: str, thresholds: str) -> None:
    assert thresholds_path(Path(questions)) == Path(thresholds)


def test_eval_check_without_thresholds_is_a_one_line_error(corpus, capsys, tmp_path) -> None:
    run(["index"], corpus, capsys)
    questions = tmp_path / "mine.jsonl"
    item = {"id": "q1", "question": "什么是负向一体化？", "lang": "zh", "answerable": True}
    questions.write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
    code, _, err = run(["eval", "--questions", str(questions), "--check"], corpus, capsys)
    assert code == 2 and "no thresholds for mine.jsonl" in err
    assert_one_line_error(err)


def test_several_question_files_only_pool_for_calibration(corpus, capsys, tmp_path) -> None:
    run(["index"], corpus, capsys)
    files = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.jsonl"
        item = {"id": name, "question": "什么是负向一体化？", "lang": "zh", "answerable": True}
        path.write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
        files += ["--questions", str(path)]
    code, _, err = run(["eval", *files], corpus, capsys)
    assert code == 2 and "several only with --calibrate" in err
    assert_one_line_error(err)
