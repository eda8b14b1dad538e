"""Shared fixtures: a tiny inline corpus and a deterministic hashing embedder."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.apps.cli import main
from assistant.index.embedder import HashingEmbedder
from assistant.records import Document, DocumentMeta, Paragraph

TINY = {
    "alpha-2020": (
        DocumentMeta(
            "alpha-2020",
            "边境后措施研究",
            "A study of behind-the-border measures",
            "边境后措施",
            ("甲",),
            year=2020,
        ),
        [
            (
                ("一、概念",),
                "负向一体化（negative integration）是指消除歧视性的贸易壁垒。它要求成员方不得采取歧视措施。",
            ),
            (
                ("一、概念",),
                "正向一体化（positive integration）是指建立共同的规则和制度。各国需要协调监管标准。",
            ),
            (("二、合作",), "国际监管合作可以降低合规成本。监管分化导致产品重复检测。"),
        ],
    ),
    "beta-2023": (
        DocumentMeta(
            "beta-2023",
            "多边贸易谈判的停滞",
            "The stalled multilateral negotiations",
            "多边谈判",
            ("乙",),
            year=2023,
        ),
        [
            (("一、表现",), "多哈回合谈判始于2001年11月，至今仍未结束。谈判成果匮乏。"),
            (("二、原因",), "协商一致决策方式导致谈判效率低下。任何一方都可以行使否决权。"),
        ],
    ),
}


def make_documents() -> list[Document]:
    """Documents of the tiny corpus, built directly (independent of the PDF cleaner)."""
    docs = []
    for doc_id, (meta, rows) in TINY.items():
        paras = tuple(
            Paragraph(f"{doc_id}:p{i}", doc_id, "body", i, section, text)
            for i, (section, text) in enumerate(rows, 1)
        )
        digest = hashlib.sha256("".join(p.text for p in paras).encode()).hexdigest()
        docs.append(Document(meta, digest, paras))
    return docs


@pytest.fixture(autouse=True)
def _no_reader_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests answer extractively: a reader model installed on this machine must not be picked up.
    Tests of the reader inject a fake one, and the integration tests set ASSISTANT_READER themselves."""
    monkeypatch.setenv("ASSISTANT_READER", "none")


@pytest.fixture
def documents() -> list[Document]:
    return make_documents()


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder(dim=128)


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


# A one-document corpus on disk, for tests that drive the CLI end to end.
TEXT = """一、负向一体化

负向一体化（negative integration）是指消除歧视性的贸易壁垒。它要求成员方不得采取歧视措施。

二、正向一体化

正向一体化（positive integration）是指建立共同的规则和制度。各国需要协调监管标准。
"""

META = """doc_id = "demo-2020"
title = "边境后措施研究"
title_en = "A study of behind-the-border measures"
short_title = "边境后措施"
authors = ["甲"]
year = 2020
"""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """corpus/demo-2020.txt + .toml in a temporary folder."""
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "demo-2020.txt").write_text(TEXT, encoding="utf-8")
    (d / "demo-2020.toml").write_text(META, encoding="utf-8")
    return d


def run_cli(
    args: list[str], corpus: Path, capsys: pytest.CaptureFixture[str], embedder: HashingEmbedder | None = None
) -> tuple[int, str, str]:
    """Run the CLI in-process on ``corpus`` (index beside it) with a hashing embedder: (exit, out, err)."""
    code = main(
        ["--corpus", str(corpus), "--index", str(corpus.parent / "index"), *args],
        embedder or HashingEmbedder(64),
    )
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str) -> None:
    """A user-facing failure: one ``assistant: error:`` line on stderr, no traceback."""
    assert err.startswith("assistant: error: "), err[:300]
    assert err.count("\n") == 1 and "Traceback" not in err, err[:300]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a real tmpfs of a given size (``tmpfs("64k")``), unmounted after the test; skips the
    test where mounting is not allowed (not root). For full-disk cases without monkeypatching."""
    mounts: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"disk{len(mounts)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()[:100]}")
        mounts.append(point)
        return point

    try:
        yield mount
    finally:
        for point in mounts:
            subprocess.run(["umount", "-l", str(point)], check=False)


def fill_disk(disk: Path, leave: int) -> None:
    """Fill the file system holding ``disk`` until about ``leave`` bytes are free (``disk/filler``)."""
    st = os.statvfs(disk)
    with (disk / "filler").open("wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
