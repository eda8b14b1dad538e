"""``assistant add / docs / remove`` end to end on real files (hashing embedder, temporary library).

A paper typeset as a PDF from a seed is added to an empty library, asked about, listed and removed;
each bad input is refused in one line naming the file, with the library folder and the index
exactly as they were.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from assistant.answer.record import schema_problems
from assistant.ingest.corpus import load_corpus
from tests.conftest import assert_one_line_error
from tests.conftest import run_cli as run
from tests.pdfmaker import Style, make_pdf

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def papers(tmp_path_factory) -> dict[str, Path]:
    """The three seeds typeset as PDFs (one column, running head, page numbers, footnotes)."""
    out = tmp_path_factory.mktemp("papers")
    paths = {}
    for doc in load_corpus(CORPUS):
        paths[doc.doc_id] = out / f"{doc.doc_id}-paper.pdf"
        make_pdf(doc, paths[doc.doc_id], Style())
    return paths


@pytest.fixture
def library(tmp_path) -> Path:
    return tmp_path / "library"


def snapshot(library: Path) -> dict[str, str]:
    """Every file under the library and its index, with its content hash."""
    root = library.parent
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for base in (library, root / "index")
        if base.exists()
        for p in sorted(base.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_add_ask_docs_remove(papers, library, capsys, tmp_path):
    pdf = tmp_path / "downloads" / "监管合作论文.pdf"
    pdf.parent.mkdir()
    shutil.copyfile(papers["xu-geng-2021"], pdf)
    code, out, err = run(["add", str(pdf)], library, capsys)
    assert code == 0, err
    assert out.startswith("added      xu-geng-nd") and "pages" in out
    side = (library / "xu-geng-nd.toml").read_text(encoding="utf-8")
    assert (
        'title = "边境后措施国际监管合作发展趋向与问题阐释"' in side and 'source = "监管合作论文.pdf"' in side
    )
    assert (library / "xu-geng-nd.pdf").read_bytes() == pdf.read_bytes()

    code, out, _ = run(["ask", "--json", "什么是负向一体化？"], library, capsys)
    record = json.loads(out)
    assert code == 0 and schema_problems(record) == []
    top = record["passages"][0]
    assert top["doc_id"] == "xu-geng-nd" and isinstance(top["page_start"], int) and top["page_start"] >= 1
    code, out, _ = run(["ask", "--no-server", "什么是负向一体化？"], library, capsys)
    assert " · p. " in out or " · pp. " in out  # the printed citation names the page

    code, out, _ = run(["docs", "--json"], library, capsys)
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["doc_id"] == "xu-geng-nd" and row["authors"] == ["徐泉", "耿旭洋"]
    assert row["pages"] >= 5 and row["paragraphs"] >= 45 and row["added"]
    code, out, _ = run(["docs"], library, capsys)
    assert code == 0 and "xu-geng-nd" in out

    code, out, _ = run(["add", str(pdf)], library, capsys)  # the same file again: nothing to do
    assert code == 0 and out.startswith("unchanged") and "indexed" not in out

    code, out, _ = run(["add", str(papers["li-2023"])], library, capsys)
    assert code == 0 and "li-nd" in out and "indexed 2 documents" in out
    code, out, _ = run(["remove", "xu-geng-nd"], library, capsys)
    assert code == 0 and "removed" in out
    assert not (library / "xu-geng-nd.pdf").exists() and not (library / "xu-geng-nd.toml").exists()
    code, out, _ = run(["ask", "--json", "什么是负向一体化？"], library, capsys)
    assert {p["doc_id"] for p in json.loads(out)["passages"]} == {"li-nd"}
    code, out, _ = run(["remove", "li-nd"], library, capsys)  # the last one: the index goes too
    assert code == 0
    code, out, _ = run(["docs"], library, capsys)
    assert "empty" in out
    code, _, err = run(["ask", "--no-server", "什么是负向一体化？"], library, capsys)
    assert code == 1 and "has no documents" in err and "assistant add" in err
    assert_one_line_error(err)


def test_a_folder_is_added_recursively_and_a_changed_file_replaces_its_document(
    papers, library, capsys, tmp_path
):
    folder = tmp_path / "papers"
    (folder / "sub").mkdir(parents=True)
    shutil.copyfile(papers["li-2023"], folder / "a.pdf")
    shutil.copyfile(papers["yang-nd"], folder / "sub" / "b.pdf")
    (folder / "notes.xyz").write_text("not a paper")  # skipped inside a folder
    code, out, err = run(["add", str(folder)], library, capsys)
    assert code == 0, err
    assert sorted(line.split()[1] for line in out.splitlines()[:2]) == ["li-nd", "yang-nd"]
    side = library / "li-nd.toml"
    side.write_text(
        side.read_text(encoding="utf-8").replace('li-nd"', 'li-nd"\nyear = 2023', 1), encoding="utf-8"
    )
    side.write_text(
        side.read_text(encoding="utf-8").replace('title = "', 'title = "（校订）', 1), encoding="utf-8"
    )
    run(["index"], library, capsys)
    shutil.copyfile(papers["xu-geng-2021"], folder / "a.pdf")  # a.pdf changed: its document is replaced
    code, out, err = run(["add", str(folder / "a.pdf")], library, capsys)
    assert code == 0 and out.startswith("replaced   li-nd"), err
    kept = (library / "li-nd.toml").read_text(encoding="utf-8")
    assert "year = 2023" in kept and 'title = "（校订）' in kept  # the user's edits win


def _encrypted(path: Path) -> None:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt="secret")
    c.drawString(72, 720, "Confidential text")
    c.save()


def _scan(path: Path) -> None:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for _ in range(3):
        c.rect(50, 50, 400, 600, fill=1)
        c.showPage()
    c.save()


def _two_columns(path: Path) -> None:
    doc = next(d for d in load_corpus(CORPUS) if d.doc_id == "li-2023")
    make_pdf(doc, path, Style(columns=2))


def _truncated(src: Path):
    def make(path: Path) -> None:
        data = src.read_bytes()
        path.write_bytes(data[: len(data) // 3])

    return make


BAD = [
    ("encrypted.pdf", lambda papers: _encrypted, "encrypted"),
    ("scan.pdf", lambda papers: _scan, "no text layer"),
    ("cut.pdf", lambda papers: _truncated(papers["yang-nd"]), "cut.pdf"),
    ("empty.pdf", lambda papers: lambda p: p.write_bytes(b""), "empty.pdf"),
    ("paper.doc", lambda papers: lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0"), "save it as .docx"),
    ("paper.rtf", lambda papers: lambda p: p.write_text("{\\rtf1}"), "supported: pdf"),
    ("missing.pdf", lambda papers: lambda p: None, "no such file"),
    ("copy.pdf", lambda papers: lambda p: shutil.copyfile(papers["li-2023"], p), "already in the library"),
    ("li-2cols.pdf", lambda papers: _two_columns, "looks like li-nd"),  # the same paper, other bytes
]


@pytest.mark.parametrize(("name", "maker", "says"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_in_one_line_and_nothing_is_half_added(
    papers, library, capsys, tmp_path, name, maker, says
):
    good = tmp_path / "good.pdf"
    shutil.copyfile(papers["yang-nd"], good)
    first = tmp_path / "first.pdf"
    shutil.copyfile(papers["li-2023"], first)
    assert run(["add", str(first)], library, capsys)[0] == 0
    before = snapshot(library)
    bad = tmp_path / name
    maker(papers)(bad)
    code, out, err = run(["add", str(good), str(bad)], library, capsys)  # a good file first, then the bad one
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert says in err and name in err
    assert snapshot(library) == before  # nothing half-added: library and index unchanged


def test_a_broken_sidecar_stops_an_add_before_anything_changes(papers, library, capsys, tmp_path):
    assert run(["add", str(papers["li-2023"])], library, capsys)[0] == 0
    (library / "li-nd.toml").write_text('doc_id = "li-nd"\ntitle = \n', encoding="utf-8")
    before = snapshot(library)
    code, _, err = run(["add", str(papers["yang-nd"])], library, capsys)
    assert code != 0 and "li-nd.toml" in err and "invalid TOML" in err
    assert_one_line_error(err)
    assert snapshot(library) == before


def test_a_failed_index_build_puts_the_library_back(papers, library, capsys, tmp_path, monkeypatch):
    assert run(["add", str(papers["li-2023"])], library, capsys)[0] == 0
    before = snapshot(library)
    import assistant.curate

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(assistant.curate, "build", broken)
    code, _, err = run(["add", str(papers["yang-nd"])], library, capsys)
    assert code == 130 and "nothing was changed" in err
    assert snapshot(library) == before


def test_remove_an_unknown_document_names_the_ones_there_are(papers, library, capsys):
    run(["add", str(papers["li-2023"])], library, capsys)
    code, _, err = run(["remove", "nope-2020"], library, capsys)
    assert code == 2 and "li-nd" in err and "assistant docs" in err
    assert_one_line_error(err)


def test_a_file_that_vanishes_mid_add_stops_it_with_nothing_added(papers, library, capsys, tmp_path):
    from assistant.curate import add_documents
    from assistant.errors import DocumentError
    from assistant.index.embedder import HashingEmbedder
    from assistant.settings import Settings

    assert run(["add", str(papers["li-2023"])], library, capsys)[0] == 0
    before = snapshot(library)
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    shutil.copyfile(papers["yang-nd"], first)
    shutil.copyfile(papers["xu-geng-2021"], second)

    def vanish(path: Path, k: int, n: int) -> None:
        if k == 0:
            second.unlink()  # gone while the first file is being read

    settings = Settings(corpus_dir=library, index_dir=library.parent / "index")
    with pytest.raises(DocumentError, match=r"b\.pdf: cannot read the file"):
        add_documents(settings, [first, second], HashingEmbedder(64), on_file=vanish)
    assert snapshot(library) == before
