"""`batch` answers through a running `assistant serve` (no model load of its own), with the same records.

The server runs in a background thread with the hashing embedder; the batch runs through the real
CLI without an injected embedder, so had it not found the server it would have loaded the real model
(and the request count below would be 0).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.apps.cli import main
from tests.conftest import run_cli as run
from tests.test_serve import serving

QUESTIONS = ["什么是负向一体化？", "What does positive integration mean?", "正向一体化是什么？"]


@pytest.fixture
def indexed(corpus: Path, capsys) -> Path:
    code, _, err = run(["index"], corpus, capsys)
    assert code == 0, err
    return corpus


def _questions(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    lines = [json.dumps({"id": f"q{i}", "question": q}, ensure_ascii=False) for i, q in enumerate(QUESTIONS)]
    lines.insert(1, "{not json")  # a bad line stays an error record, in its place
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _records(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row.pop("timings_ms", None)
    return rows


def _batch(corpus: Path, questions: Path, out: Path, capsys, *flags: str, embedder=None) -> tuple[int, str]:
    index = corpus.parent / "index"
    args = ["--corpus", str(corpus), "--index", str(index), "batch", str(questions), "-o", str(out), *flags]
    code = main([*args, "--no-reader"], embedder)
    return code, capsys.readouterr().err


def test_batch_uses_the_running_server_and_writes_the_same_records(indexed, tmp_path, capsys) -> None:
    from assistant.index.embedder import HashingEmbedder

    questions = _questions(tmp_path)
    local, served = tmp_path / "local.jsonl", tmp_path / "served.jsonl"
    code, _ = _batch(indexed, questions, local, capsys, embedder=HashingEmbedder(64))
    assert code == 3  # the bad line
    with serving(indexed) as server:
        code, err = _batch(indexed, questions, served, capsys)
        assert code == 3 and "answering with the running `assistant serve`" in err
        assert server.requests == len(QUESTIONS)
    assert _records(served) == _records(local)


@pytest.mark.parametrize(
    ("flags", "doc", "error"),
    [((), None, None), (("--doc", "nosuchdoc"), "nosuchdoc", "unknown document 'nosuchdoc'")],
)
def test_served_batch_errors_read_as_in_process(indexed, tmp_path, capsys, flags, doc, error) -> None:
    questions = _questions(tmp_path)
    with serving(indexed):
        code, err = _batch(indexed, questions, tmp_path / "out.md", capsys, *flags)
    if error is None:
        assert code == 3
        text = (tmp_path / "out.md").read_text(encoding="utf-8")
        assert "- Model: `hashing-64`" in text and "(1 documents)" in text  # the server's facts
    else:
        assert code == 2 and error in err and err.count("\n") <= 2


def test_no_server_loads_the_model_here(indexed, tmp_path, capsys) -> None:
    from assistant.index.embedder import HashingEmbedder

    with serving(indexed) as server:
        code, err = _batch(
            indexed,
            _questions(tmp_path),
            tmp_path / "o.jsonl",
            capsys,
            "--no-server",
            embedder=HashingEmbedder(64),
        )
        assert code == 3 and "running `assistant serve`" not in err
        assert server.requests == 0
