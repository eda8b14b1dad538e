"""`assistant eval --calibrate` writes beside the index, never into the installed package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer.abstain import PACKAGED_CALIBRATION
from assistant.engine import Engine
from assistant.index.embedder import HashingEmbedder
from assistant.settings import Settings
from tests.conftest import run_cli

ITEMS = [
    ("a1", "什么是负向一体化？", "zh", True, "消除歧视性的贸易壁垒"),
    ("a2", "正向一体化是什么？", "zh", True, "建立共同的规则和制度"),
    ("u1", "谁发明了电灯泡？", "zh", False, None),
    ("a3", "What does negative integration mean?", "en", True, "消除歧视性的贸易壁垒"),
    ("u2", "How do I descale an espresso machine?", "en", False, None),
]


def write_questions(path: Path) -> Path:
    rows = [
        {
            "id": i,
            "question": q,
            "lang": lang,
            "answerable": ok,
            "doc_id": "demo-2020",
            "evidence": [e] if e else [],
        }
        for i, q, lang, ok, e in ITEMS
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_calibration_goes_beside_the_index_and_is_used(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packaged = PACKAGED_CALIBRATION.read_bytes()
    assert run_cli(["index"], corpus, capsys)[0] == 0
    questions = write_questions(tmp_path / "mine.jsonl")
    code, out, _ = run_cli(["eval", "--questions", str(questions), "--calibrate"], corpus, capsys)
    assert code == 0
    target = corpus.parent / "index" / "calibration.toml"
    assert target.is_file() and f"wrote {target}" in out
    assert PACKAGED_CALIBRATION.read_bytes() == packaged
    settings = Settings(corpus_dir=corpus, index_dir=corpus.parent / "index")
    engine = Engine.open(settings, HashingEmbedder(64))
    assert engine.policy.source == f"calibrated:{target}"


def test_calibration_out_writes_where_asked(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["index"], corpus, capsys)[0] == 0
    out_file = tmp_path / "elsewhere" / "calibration.toml"
    args = ["eval", "--questions", str(write_questions(tmp_path / "q.jsonl")), "--calibrate"]
    assert run_cli([*args, "--calibration-out", str(out_file)], corpus, capsys)[0] == 0
    assert "[models." in out_file.read_text(encoding="utf-8")
    assert not (corpus.parent / "index" / "calibration.toml").exists()


def test_a_broken_user_calibration_falls_back_to_the_packaged_one(corpus: Path, capsys) -> None:
    assert run_cli(["index"], corpus, capsys)[0] == 0
    (corpus.parent / "index" / "calibration.toml").write_text("not [ toml", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=corpus.parent / "index")
    assert Engine.open(settings, HashingEmbedder(64)).policy.source == "uncalibrated"
