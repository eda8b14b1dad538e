"""Flags that say no, a missing corpus named first, no TUI without a terminal, a closed pipe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.apps.cli import main
from tests.conftest import assert_one_line_error, run_cli


@pytest.mark.parametrize(
    ("doc", "code", "message"),
    [
        ("demo-2020", 0, None),
        ("Demo-2020", 0, None),  # a case-only difference is accepted
        ("nosuchdoc", 2, "unknown document 'nosuchdoc' (known: demo-2020)"),
    ],
)
def test_doc_filter(corpus: Path, capsys, doc: str, code: int, message: str | None) -> None:
    assert run_cli(["index"], corpus, capsys)[0] == 0
    got, out, err = run_cli(["ask", "--no-server", "--doc", doc, "什么是负向一体化？"], corpus, capsys)
    assert got == code
    if message:
        assert_one_line_error(err)
        assert message in err and out == ""
    else:
        assert "demo-2020:p" in out


@pytest.mark.parametrize("k", ["0", "-1", "two"])
def test_k_must_be_a_positive_number(corpus: Path, capsys, k: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["ask", "-k", k, "什么是负向一体化？"], corpus, capsys)
    assert exit_info.value.code == 2
    assert "-k" in capsys.readouterr().err


def test_a_missing_corpus_is_named_before_the_index(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nonexistent"
    code = main(["--corpus", str(missing), "ask", "--no-server", "hi there"])
    err = capsys.readouterr().err
    assert code == 1
    assert_one_line_error(err)
    assert f"{missing}: library folder not found" in err


def test_bare_command_without_a_terminal_prints_usage_and_fails(capsys) -> None:
    assert main([]) == 2  # pytest's stdin and stdout are not terminals
    err = capsys.readouterr().err
    assert err.startswith("usage: assistant") and "needs a terminal" in err


def test_a_closed_pipe_ends_quietly(corpus: Path, capsys) -> None:
    long = "负向一体化要求成员方消除歧视性的贸易壁垒。" * 20_000  # far more than a pipe's buffer
    (corpus / "demo-2020.txt").write_text(f"一、负向一体化\n\n{long}\n", encoding="utf-8")
    assert run_cli(["index"], corpus, capsys)[0] == 0
    code = (
        "import sys; from assistant.apps.cli import main; "
        f"sys.exit(main(['--corpus', {str(corpus)!r}, '--index', {str(corpus.parent / 'index')!r}, "
        "'show', 'demo-2020:p1']))"
    )
    proc = subprocess.run(
        f'{sys.executable} -c "{code}" | head -c 20', shell=True, capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.stdout.startswith("demo-2020:p1")
