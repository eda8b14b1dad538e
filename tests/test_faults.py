"""Bad input and faults: every failure is one line with the right exit code, and nothing is lost.

Questions, batch question files, corpus files, damaged indexes, a full disk, a read-only index
folder, a build killed with SIGKILL and a corrupt model folder. The CLI runs in-process with a
hashing embedder over a tiny on-disk corpus (as in test_cli.py); only the full-disk case
monkeypatches package code.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.apps.cli import main
from assistant.engine import MAX_QUESTION_CHARS
from assistant.index import store as index_module
from assistant.index.embedder import HashingEmbedder
from assistant.index.manifest import corpus_hash
from assistant.index.models import DEFAULT_MODEL, ModelError, model_dir, verify_model
from assistant.index.store import current_build, load_index
from assistant.index.vectorstore import FaissIndex
from tests.conftest import META, TEXT, assert_one_line_error
from tests.conftest import run_cli as run

REPO = Path(__file__).resolve().parent.parent

QUESTION = "什么是负向一体化？"

SENTENCES = (
    "国际监管合作可以降低企业的合规成本",
    "监管分化导致同一产品在不同市场重复检测和认证",
    "边境后措施涉及技术法规、卫生与植物卫生措施以及竞争政策",
    "多哈回合谈判始于2001年11月，至今仍未结束",
    "协商一致的决策方式使任何一个成员都可以阻止协议的达成",
    "区域贸易协定在规则制定上往往比多边体制走得更远",
    "监管一致性章节要求缔约方在制定法规前进行影响评估",
    "相互承认协议允许一方接受另一方合格评定机构的检测结果",
)


def chinese_text(n_bytes: int, seed: int = 0) -> str:
    """Real-looking Chinese prose of about ``n_bytes`` UTF-8 bytes: numbered sections, varied paragraphs."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    section = 0
    while size < n_bytes:
        section += 1
        block = [f"第{section}节 监管合作的第{section}个问题\n\n"]
        for para in range(rng.randint(3, 8)):
            sentences = [rng.choice(SENTENCES) for _ in range(rng.randint(1, 6))]
            block.append(f"{'，'.join(sentences)}（见第{section}.{para + 1}段）。\n\n")
        text = "".join(block)
        parts.append(text)
        size += len(text.encode("utf-8"))
    return "".join(parts)


# --- fixtures and helpers ------------------------------------------------------------------------


def snapshot(index_dir: Path) -> tuple[str, list[str], dict[str, str]]:
    """CURRENT, every build folder and the sha256 of every file of the live build."""
    live = current_build(index_dir)
    files = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(live.iterdir())}
    builds = sorted(p.name for p in (index_dir / "builds").iterdir())
    return (index_dir / "CURRENT").read_text(encoding="utf-8"), builds, files


def assert_intact(index_dir: Path, before: tuple, corpus: Path, fingerprint: str) -> None:
    """The previous index is byte-for-byte unchanged, still loads, and no half-written build is left."""
    assert snapshot(index_dir) == before
    loaded = load_index(index_dir, fingerprint, corpus_hash(corpus))
    assert loaded.vectors.size == len(loaded.chunks) > 0
    assert not [p for p in (index_dir / "builds").iterdir() if p.name.startswith(".tmp-")]


def assert_live_and_replaced_only(index_dir: Path) -> None:
    """After a build: the live build and the one it replaced (kept for readers still opening it)."""
    builds = sorted(p.name for p in (index_dir / "builds").iterdir())
    assert current_build(index_dir).name in builds and len(builds) <= 2, builds


@pytest.fixture
def indexed(corpus: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, tuple]:
    """The corpus with a live index; returns the index folder and its snapshot."""
    code, out, _ = run(["index"], corpus, capsys)
    assert code == 0 and "indexed 1 documents" in out
    index_dir = corpus.parent / "index"
    return index_dir, snapshot(index_dir)


# --- questions -----------------------------------------------------------------------------------

BINARY_ONLY = os.fsdecode(b"\x00\xff\xfe\x00\x80\x81\xc3\x00\xbf\x9f\xf8\x00")
RANDOM_BYTES = os.fsdecode(b"\x00" + random.Random(0).randbytes(200) + b"\x00")


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        pytest.param("", "empty question", id="empty"),
        pytest.param(" \t\n\r\u3000  ", "empty question", id="whitespace"),
        pytest.param("\x00\x01\x07\x08\x1b\x7f\x9f", "binary data", id="control-only"),
        pytest.param("\x01\x07\x08\x1b\x7f\x9f", "empty question", id="control-only-no-nul"),
        pytest.param(BINARY_ONLY, "binary data", id="nul-and-undecodable-bytes"),
        pytest.param(RANDOM_BYTES, "binary data", id="random-bytes"),
        pytest.param("贸" * 20_000, "too long", id="20k-chars"),
        pytest.param("a" * (1 << 20), "too long", id="1MB"),
        pytest.param("负向一体化 " * (1 << 18), "too long", id="1MB-words"),
    ],
)
def test_bad_question_exit_2_and_index_untouched(indexed, corpus, capsys, question, needle) -> None:
    index_dir, before = indexed
    code, out, err = run(["ask", question], corpus, capsys)
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert needle in err
    assert len(err) < 300  # the question is not echoed back
    assert_intact(index_dir, before, corpus, HashingEmbedder(64).fingerprint)


def test_question_exactly_at_the_limit_is_answered(indexed, corpus, capsys) -> None:
    question = ("负向一体化是什么" * MAX_QUESTION_CHARS)[:MAX_QUESTION_CHARS]
    code, out, err = run(["ask", question], corpus, capsys)
    assert code == 0 and err == "" and "demo-2020" in out


@pytest.mark.parametrize(
    "question",
    [
        "\x07什么是\x1b负向一体化？\x7f",
        "什么是负向一体化？\r\n\t",
        "What\x0b is\x0c negative\x1f integration?\x85",
        "\u200b什么是负向\u200d一体化？\ufeff",
    ],
    ids=["zh-control", "zh-crlf-tab", "en-control", "zero-width"],
)
def test_control_characters_in_real_text_give_a_sane_answer(indexed, corpus, capsys, question) -> None:
    code, out, err = run(["ask", "--json", question], corpus, capsys)
    assert code == 0 and err == ""
    record = json.loads(out)
    assert record["passages"][0]["ref"] == "demo-2020:p1"
    assert not any(ch in record["question"] for ch in "\x00\x07\x0b\x0c\x1b\x1f\x7f\x85\r\t")


# --- batch question files ------------------------------------------------------------------------


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


MIXED_ENCODINGS = "负向一体化是什么？\n".encode() + "正向一体化是什么？\n".encode("gb18030")

UNUSABLE_INPUTS: list[tuple[str, Callable[[Path], Path], str]] = [
    ("mixed-encodings-txt", lambda d: _write(d / "q.txt", MIXED_ENCODINGS), "not UTF-8"),
    (
        "gb18030-line-in-jsonl",
        lambda d: _write(
            d / "q.jsonl",
            b'{"id": "a", "question": "What is negative integration?"}\n'
            + '{"id": "b", "question": "正向一体化是什么？"}\n'.encode("gb18030"),
        ),
        "not UTF-8",
    ),
    ("bom-then-gb18030", lambda d: _write(d / "q.txt", b"\xef\xbb\xbf" + MIXED_ENCODINGS), "not UTF-8"),
    ("empty-file", lambda d: _write(d / "q.txt", b""), "no questions"),
    ("bom-only", lambda d: _write(d / "q.txt", b"\xef\xbb\xbf"), "no questions"),
    ("blank-and-comments", lambda d: _write(d / "q.txt", "\r\n  \n# a comment\n\t\n"), "no questions"),
    ("empty-jsonl", lambda d: _write(d / "q.jsonl", "\n\n"), "no questions"),
    ("empty-csv", lambda d: _write(d / "q.csv", b""), "question"),
    ("directory-with-extension", lambda d: (d / "q.txt").mkdir() or d / "q.txt", "cannot read"),
    ("directory", lambda d: (d / "questions").mkdir() or d / "questions", "format"),
    ("missing-file", lambda d: d / "nowhere.txt", "no such file"),
]


@pytest.mark.parametrize(
    ("setup", "needle"), [c[1:] for c in UNUSABLE_INPUTS], ids=[c[0] for c in UNUSABLE_INPUTS]
)
def test_unusable_question_file_exit_2_and_output_kept(indexed, corpus, tmp_path, capsys, setup, needle):
    index_dir, before = indexed
    questions = setup(tmp_path)
    output = tmp_path / "answers.jsonl"
    output.write_text('{"id": "earlier", "answer": "from an earlier run"}\n', encoding="utf-8")
    # --force: even a user who allowed the overwrite keeps the earlier output when the input is bad
    code, out, err = run(["batch", str(questions), "-o", str(output), "--force"], corpus, capsys)
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert needle in err
    assert output.read_text(encoding="utf-8") == '{"id": "earlier", "answer": "from an earlier run"}\n'
    assert_intact(index_dir, before, corpus, HashingEmbedder(64).fingerprint)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("q.txt", b"\xef\xbb\xbf" + "负向一体化是什么？\r\nWhat is positive integration?\r\n".encode()),
        (
            "q.jsonl",
            b"\xef\xbb\xbf"
            + '{"id": "a", "question": "负向一体化是什么？"}\r\n'.encode()
            + '{"id": "b", "question": "正向一体化"}\r\n'.encode(),
        ),
        (
            "q.csv",
            b"\xef\xbb\xbf" + "id,question\r\na,负向一体化是什么？\r\nb,正向一体化是什么？\r\n".encode(),
        ),
        ("q.txt", "负向一体化是什么？\r\n\r\n正向一体化是什么？".encode()),  # CRLF, no final newline
    ],
    ids=["txt-bom-crlf", "jsonl-bom-crlf", "csv-bom-crlf", "txt-crlf-no-final-newline"],
)
def test_bom_and_crlf_are_transparent(indexed, corpus, tmp_path, capsys, name, data) -> None:
    questions = _write(tmp_path / name, data)
    code, out, err = run(["batch", str(questions)], corpus, capsys)
    assert code == 0, err
    assert "Traceback" not in err
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 2
    for record in records:
        assert "error" not in record
        assert "\ufeff" not in record["id"] + record["question"] and "\r" not in record["question"]
    assert records[0]["passages"][0]["ref"] == "demo-2020:p1"


def test_bad_lines_become_error_records_and_the_rest_are_answered(indexed, corpus, tmp_path, capsys) -> None:
    lines = [
        '{"id": "a", "question": "负向一体化是什么？"}',
        "{not json",
        '{"id": "b", "question": "正向一体化是什么？"',  # cut off
        "[1, 2]",
        '{"id": "a", "question": "What is negative integration?"}',  # duplicate id
        '{"id": "c", "question": "\\u0000\\u0007"}',
        '{"id": "d", "question": "What is positive integration?"}',
        "\x00\x01 binary line",
    ]
    questions = _write(tmp_path / "q.jsonl", "\n".join(lines) + "\n")
    output = tmp_path / "answers.jsonl"
    code, out, err = run(["batch", str(questions), "-o", str(output)], corpus, capsys)
    assert code == 3 and out == ""
    assert "Traceback" not in err
    assert all(line.startswith("assistant: ") for line in err.splitlines())
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [r.get("line") for r in records if "error" in r] == [2, 3, 4, 5, 6, 8]
    assert [r["id"] for r in records if "error" not in r] == ["a", "d"]
    assert len(records) == len(lines)  # one record per input line, in order: nothing silently dropped
    duplicate = next(r for r in records if r.get("line") == 5)
    assert "duplicate id" in duplicate["error"] and duplicate["question"] == "What is negative integration?"
    assert "binary data" in next(r for r in records if r["id"] == "c")["error"]


def test_10mb_single_line_is_an_error_record_not_a_crash(indexed, corpus, tmp_path, capsys) -> None:
    index_dir, before = indexed
    huge = "贸易" * (10 * 1024 * 1024 // 6)
    questions = _write(tmp_path / "q.txt", huge + "\n负向一体化是什么？\n")
    assert questions.stat().st_size > 10 * 1024 * 1024
    output = tmp_path / "answers.jsonl"
    code, out, err = run(["batch", str(questions), "-o", str(output)], corpus, capsys)
    assert code == 3 and out == ""
    assert "Traceback" not in err and len(err) < 2000  # the 10 MB line is not echoed to the terminal
    first, second = (json.loads(line) for line in output.read_text(encoding="utf-8").splitlines())
    assert first["line"] == 1 and "too long" in first["error"]
    assert second["id"] == "line-2" and second["passages"][0]["ref"] == "demo-2020:p1"
    assert_intact(index_dir, before, corpus, HashingEmbedder(64).fingerprint)


# --- corpus --------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"


def _outside_symlink(d: Path) -> None:
    outside = d.parent / "elsewhere.txt"
    outside.write_text(TEXT, encoding="utf-8")
    (d / "link-2021.txt").symlink_to(outside)
    (d / "link-2021.toml").write_text('doc_id = "link-2021"\ntitle = "链接"\n', encoding="utf-8")


def _duplicate_doc_id(d: Path) -> None:
    (d / "other-2021.txt").write_text(TEXT.replace("负向", "消极"), encoding="utf-8")
    (d / "other-2021.toml").write_text(META, encoding="utf-8")  # doc_id = "demo-2020" again


def _broken_symlink(d: Path) -> None:
    (d / "gone-2021.txt").symlink_to(d / "missing.txt")
    (d / "gone-2021.toml").write_text('doc_id = "gone-2021"\ntitle = "无"\n', encoding="utf-8")


CORPUS_FAULTS: list[tuple[str, Callable[[Path], object], str]] = [
    ("empty-file", lambda d: (d / "demo-2020.txt").write_bytes(b""), "empty"),
    (
        "whitespace-file",
        lambda d: (d / "demo-2020.txt").write_text(" \n\r\n\t\n", encoding="utf-8"),
        "empty",
    ),
    (
        "ideographic-space-file",  # not whitespace to bytes.strip(): caught after cleaning instead
        lambda d: (d / "demo-2020.txt").write_text("\u3000\n\u3000\u3000\n", encoding="utf-8"),
        "no body text",
    ),
    ("png-bytes", lambda d: (d / "demo-2020.txt").write_bytes(PNG + bytes(range(256))), "binary"),
    ("gb18030", lambda d: (d / "demo-2020.txt").write_bytes(TEXT.encode("gb18030")), "UTF-8"),
    ("utf16", lambda d: (d / "demo-2020.txt").write_bytes(TEXT.encode("utf-16")), "binary"),
    ("symlink-outside", _outside_symlink, "outside the corpus"),
    ("broken-symlink", _broken_symlink, "gone-2021"),
    ("txt-without-toml", lambda d: (d / "lone-2021.txt").write_text(TEXT, encoding="utf-8"), "sidecar"),
    (
        "toml-without-txt",
        lambda d: (d / "lone-2021.toml").write_text(META, encoding="utf-8"),
        "without a document",
    ),
    (
        "invalid-toml",
        lambda d: (d / "demo-2020.toml").write_text('doc_id = "demo-2020\ntitle = [', encoding="utf-8"),
        "invalid TOML",
    ),
    ("non-utf8-toml", lambda d: (d / "demo-2020.toml").write_bytes(META.encode("gb18030")), "invalid TOML"),
    (
        "bad-doc-id",
        lambda d: (d / "demo-2020.toml").write_text(META.replace("demo-2020", "Demo 2020"), encoding="utf-8"),
        "doc_id",
    ),
    ("duplicate-doc-id", _duplicate_doc_id, "duplicate doc_id"),
]


@pytest.mark.parametrize(
    ("setup", "needle"), [c[1:] for c in CORPUS_FAULTS], ids=[c[0] for c in CORPUS_FAULTS]
)
def test_bad_corpus_one_line_error_and_previous_index_kept(indexed, corpus, capsys, setup, needle) -> None:
    index_dir, before = indexed
    fingerprint = HashingEmbedder(64).fingerprint
    setup(corpus)
    code, out, err = run(["index"], corpus, capsys)
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert needle.lower() in err.lower()
    assert snapshot(index_dir) == before
    loaded = load_index(index_dir, fingerprint)  # the corpus changed, so only the model is checked
    assert loaded.manifest.documents.keys() == {"demo-2020"}


def test_broken_symlink_error_names_the_symlink(corpus, capsys) -> None:
    _broken_symlink(corpus)
    code, _, err = run(["index"], corpus, capsys)
    assert code == 1
    assert_one_line_error(err)
    assert "broken symlink" in err  # (the tmp path holds "broken_symlink": match the wording)


def test_huge_chinese_file_indexes_and_answers(corpus, capsys) -> None:
    text = chinese_text(5 * 1024 * 1024)
    (corpus / "huge-2022.txt").write_text(text, encoding="utf-8")
    (corpus / "huge-2022.toml").write_text('doc_id = "huge-2022"\ntitle = "监管合作大全"\n', encoding="utf-8")
    assert (corpus / "huge-2022.txt").stat().st_size >= 5 * 1024 * 1024
    fast = HashingEmbedder(64, ngram=(1,))
    code, out, err = run(["index"], corpus, capsys, fast)
    assert code == 0, err
    assert "indexed 2 documents" in out
    loaded = load_index(corpus.parent / "index", fast.fingerprint, corpus_hash(corpus))
    huge_units = loaded.doc_paragraphs("huge-2022")
    assert len(huge_units) > 1000  # split into its paragraphs, not one giant unit
    assert sum(len(p.text) for p in huge_units) > 0.9 * len(text.replace("\n", ""))  # no text lost
    code, out, err = run(["ask", "--json", "相互承认协议是什么？"], corpus, capsys, fast)
    assert code == 0 and err == ""
    assert json.loads(out)["passages"]


# --- damaged index -------------------------------------------------------------------------------


def _live(index_dir: Path, name: str) -> Path:
    return current_build(index_dir) / name


def _truncate_faiss(index_dir: Path) -> None:
    path = _live(index_dir, "vectors.faiss")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty_faiss(index_dir: Path) -> None:
    _live(index_dir, "vectors.faiss").write_bytes(b"")


def _other_model(index_dir: Path) -> None:
    path = _live(index_dir, "manifest.json")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["model_fingerprint"] = "0123456789abcdef"
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _edit_chunks(edit: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def damage(index_dir: Path) -> None:
        path = _live(index_dir, "chunks.jsonl")
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(edit(lines)), encoding="utf-8")

    return damage


def _current(data: bytes) -> Callable[[Path], None]:
    return lambda index_dir: (index_dir / "CURRENT").write_bytes(data)


# A damaged build file no longer matches the digest its manifest recorded: that is what is reported.
DIGEST = "does not match the digest"
INDEX_FAULTS = [
    pytest.param(_truncate_faiss, DIGEST, id="truncated-faiss"),
    pytest.param(_empty_faiss, DIGEST, id="empty-faiss"),
    pytest.param(_other_model, "another model", id="manifest-from-another-model"),
    pytest.param(_edit_chunks(lambda lines: lines[:-1]), DIGEST, id="chunk-line-dropped"),
    pytest.param(_edit_chunks(lambda lines: [*lines, lines[-1]]), DIGEST, id="chunk-line-duplicated"),
    pytest.param(_edit_chunks(lambda lines: [lines[0][:20] + "\n", *lines[1:]]), DIGEST, id="chunk-line-cut"),
    pytest.param(
        lambda d: _live(d, "paragraphs.jsonl").write_text("", encoding="utf-8"), DIGEST, id="no-paragraphs"
    ),
    pytest.param(lambda d: _live(d, "manifest.json").unlink(), "unreadable", id="manifest-missing"),
    pytest.param(
        _current(b"20990101-000000-000000000-deadbeef\n"), "live build missing", id="current-missing-build"
    ),
    pytest.param(_current(b"../../../../etc\n"), "live build missing", id="current-path-escape"),
    pytest.param(_current(b"\n"), "assistant index", id="current-empty"),
    pytest.param(_current(b"\x00\x00garbage\x00"), "assistant index", id="current-nul-bytes"),
    pytest.param(_current(b"\xff\xfe\x89PNG\x00garbage"), "damaged", id="current-not-utf8"),
    pytest.param(lambda d: (d / "CURRENT").unlink(), "no index found", id="current-deleted"),
]


@pytest.mark.parametrize(("damage", "needle"), INDEX_FAULTS)
def test_damaged_index_one_line_error_then_rebuild_recovers(indexed, corpus, capsys, damage, needle) -> None:
    index_dir, _ = indexed
    damage(index_dir)
    code, out, err = run(["ask", QUESTION], corpus, capsys)
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert needle in err and "assistant index" in err
    code, out, err = run(["index"], corpus, capsys)
    assert code == 0, err
    code, out, err = run(["ask", QUESTION], corpus, capsys)
    assert code == 0 and "demo-2020:p1" in out
    assert not [p for p in (index_dir / "builds").iterdir() if p.name.startswith(".tmp-")]
    assert_live_and_replaced_only(index_dir)


@pytest.mark.parametrize("command", [["show", "demo-2020:p1"], ["glossary"]])
def test_other_commands_on_a_damaged_index(indexed, corpus, capsys, command) -> None:
    index_dir, _ = indexed
    _truncate_faiss(index_dir)
    code, out, err = run(command, corpus, capsys)
    assert code == 1 and out == ""
    assert_one_line_error(err)


def _raise_enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


FULL_DISK_TARGETS = [
    pytest.param(index_module, "_write_jsonl", id="write_jsonl"),
    pytest.param(FaissIndex, "save", id="faiss-save"),
]


def _edit_corpus(corpus: Path) -> None:
    (corpus / "demo-2020.txt").write_text(TEXT + "\n三、新增\n\n新增段落，讨论监管合作。\n", encoding="utf-8")


@pytest.mark.parametrize(("owner", "name"), FULL_DISK_TARGETS)
def test_full_disk_during_save_keeps_previous_index(
    indexed, corpus, capsys, monkeypatch, owner, name
) -> None:
    index_dir, before = indexed
    (corpus / "demo-2020.txt").write_text(TEXT, encoding="utf-8")  # same content: the index stays current
    monkeypatch.setattr(owner, name, _raise_enospc)
    with contextlib.suppress(OSError):  # the missing one-line error is test_full_disk_..._one_line_error
        run(["index"], corpus, capsys)
    capsys.readouterr()
    assert_intact(index_dir, before, corpus, HashingEmbedder(64).fingerprint)
    monkeypatch.undo()
    _edit_corpus(corpus)
    code, _, err = run(["index"], corpus, capsys)  # space is back: the next build works
    assert code == 0, err
    assert_live_and_replaced_only(index_dir)


@pytest.mark.parametrize(("owner", "name"), FULL_DISK_TARGETS)
def test_full_disk_during_save_gives_one_line_error(
    indexed, corpus, capsys, monkeypatch, owner, name
) -> None:
    monkeypatch.setattr(owner, name, _raise_enospc)
    code, out, err = run(["index"], corpus, capsys)
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert "space" in err


def test_read_only_index_dir(indexed, corpus, capsys) -> None:
    index_dir, before = indexed
    _edit_corpus(corpus)
    index_dir.chmod(0o555)
    try:
        probe = index_dir / ".write-probe"
        try:
            probe.write_bytes(b"")
        except PermissionError:
            pass
        else:
            probe.unlink()
            pytest.skip("chmod 0o555 does not stop writes here (running as root?): cannot simulate")
        assert not os.access(index_dir, os.W_OK)
        code, out, err = run(["index"], corpus, capsys)
        assert code == 1 and out == ""
        assert_one_line_error(err)
        assert snapshot(index_dir) == before
    finally:
        index_dir.chmod(0o755)


# --- a build killed with SIGKILL -----------------------------------------------------------------

SLOW_BUILD = """
import sys, time
from pathlib import Path

from assistant.index.embedder import HashingEmbedder
from assistant.engine import Settings, build


class SlowEmbedder(HashingEmbedder):
    calls = 0

    def encode_documents(self, texts, titles=None):
        SlowEmbedder.calls += 1
        if SlowEmbedder.calls == 2:  # the first batch is embedded: tell the test, then hang
            Path(sys.argv[3]).write_text("first batch done", encoding="utf-8")
            time.sleep(600)
        return super().encode_documents(texts, titles)


build(Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2])), embedder=SlowEmbedder(64))
"""


def test_build_killed_with_sigkill_keeps_previous_index_and_next_build_works(corpus, tmp_path, capsys):
    (corpus / "big-2022.txt").write_text(chinese_text(150_000, seed=1), encoding="utf-8")
    (corpus / "big-2022.toml").write_text('doc_id = "big-2022"\ntitle = "监管合作"\n', encoding="utf-8")
    code, out, err = run(["index"], corpus, capsys)
    assert code == 0, err
    index_dir = corpus.parent / "index"
    before = snapshot(index_dir)
    assert load_index(index_dir).manifest.n_chunks > 64 * 2  # several embedding batches

    script = tmp_path / "slow_build.py"
    script.write_text(textwrap.dedent(SLOW_BUILD), encoding="utf-8")
    marker = tmp_path / "first-batch-done"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.Popen(
        [sys.executable, str(script), str(corpus), str(index_dir), str(marker)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(
                    f"the slow build exited early ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}"
                )
            assert time.monotonic() < deadline, "the slow build never finished its first batch"
            time.sleep(0.05)
        # while it runs, the lock is really held: a second build is refused with one line
        code, out, err = run(["index"], corpus, capsys)
        assert code == 1 and out == ""
        assert_one_line_error(err)
        assert "another build is running" in err
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    assert (index_dir / ".lock").exists()  # left behind by the killed build
    assert_intact(index_dir, before, corpus, HashingEmbedder(64).fingerprint)
    code, out, err = run(["index"], corpus, capsys)  # the stale .lock does not block: flock died with it
    assert code == 0, err
    assert "indexed 2 documents" in out
    assert snapshot(index_dir)[0] != before[0]
    assert not [p for p in (index_dir / "builds").iterdir() if p.name.startswith(".tmp-")]
    rebuilt = load_index(index_dir, HashingEmbedder(64).fingerprint, corpus_hash(corpus))
    assert rebuilt.manifest.n_chunks == load_index(index_dir).manifest.n_chunks == len(rebuilt.chunks)


# --- models --------------------------------------------------------------------------------------

MODEL_FILES = {
    "config.json": b'{"model_type": "fake"}',
    "model.safetensors": bytes(range(256)) * 4,
    "tokenizer/tokenizer.json": b'{"version": "1.0"}',
}


@pytest.fixture
def fake_model(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "fake-model"
    for rel, data in MODEL_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root, {rel: hashlib.sha256(data).hexdigest() for rel, data in MODEL_FILES.items()}


def _flip_byte(root: Path, digests: dict[str, str]) -> dict[str, str]:
    path = root / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    return digests


def _truncate_config(root: Path) -> None:
    (root / "config.json").write_bytes(b"{")


MODEL_FAULTS: list[tuple[str, Callable[[Path, dict[str, str]], dict[str, str]], str]] = [
    ("tampered-file", _flip_byte, "does not match its sha256"),
    ("wrong-digest", lambda r, d: {**d, "config.json": "0" * 64}, "does not match its sha256"),
    ("upper-case-wrong-digest", lambda r, d: {**d, "config.json": "A" * 64}, "does not match its sha256"),
    ("truncated-file", lambda r, d: _truncate_config(r) or d, "does not match its sha256"),
    ("missing-file", lambda r, d: (r / "tokenizer" / "tokenizer.json").unlink() or d, "missing"),
    (
        "directory-instead-of-file",
        lambda r, d: (r / "config.json").unlink() or (r / "config.json").mkdir() or d,
        "missing",
    ),
    ("escaping-path", lambda r, d: {**d, "../outside.bin": "0" * 64}, "unsafe path"),
]


@pytest.mark.parametrize(
    ("damage", "needle"), [c[1:] for c in MODEL_FAULTS], ids=[c[0] for c in MODEL_FAULTS]
)
def test_corrupt_model_dir_raises_one_line_model_error(fake_model, damage, needle) -> None:
    root, digests = fake_model
    verify_model(root, digests, full=True)  # intact: passes
    digests = damage(root, dict(digests))
    with pytest.raises(ModelError) as exc:
        verify_model(root, digests, full=True)
    message = str(exc.value)
    assert needle in message and "\n" not in message
    assert "assistant models fetch" in message


def test_bad_digest_list_file_raises_one_line_model_error(fake_model, tmp_path) -> None:
    root, digests = fake_model
    listing = tmp_path / "digests.sha256"
    listing.write_text("".join(f"{v}  {k}\n" for k, v in digests.items()) + "not-a-digest  x.bin\n", "utf-8")
    with pytest.raises(ModelError, match="bad digest line 4") as exc:
        verify_model(root, listing)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("installed", [False, True], ids=["not-fetched", "unverified-fake-files"])
def test_models_verify_cli_on_a_bad_default_model(
    fake_model, tmp_path, capsys, monkeypatch, installed
) -> None:
    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ASSISTANT_MODEL", raising=False)
    if installed:
        target = model_dir(DEFAULT_MODEL)
        target.parent.mkdir(parents=True)
        fake_model[0].rename(target)
    code = main(["models", "verify"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert "assistant models fetch" in err
