"""Word, Markdown, HTML and text files come in through ``read_source`` with their structure.

Each file is made here the way its authors make it (python-docx for Word, with a real footnotes
part; Markdown and HTML as written by hand) and read back through the reader and the cleaner: the
headings must give the section path, the paragraphs must be the paragraphs, a Word footnote must
link to the paragraph that references it, and a file no reader takes is refused in one line.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest

from assistant.errors import CorpusError
from assistant.ingest.formats import SUFFIXES, read_source
from assistant.ingest.segment import clean_document
from assistant.records import DocumentMeta

META = DocumentMeta(doc_id="t", title="区域贸易协定中的监管合作")
P1 = "监管合作是区域贸易协定的新议题，它要求缔约方在制定技术法规时相互通报并开展对话。"
P2 = "良好监管实践要求透明度与公众参与，这一要求已经写入多个协定的监管一致性章节。"
P3 = "Mutual recognition lets a product tested in one party be sold in the other party."

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NOTES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:footnotes xmlns:w="{_W}">
<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>
<w:footnote w:id="1"><w:p><w:r><w:t>参见《技术性贸易壁垒协定》第2条。</w:t></w:r></w:p></w:footnote>
</w:footnotes>"""


def _with_footnote(path: Path, after: str) -> None:
    """Add a footnotes part to a python-docx file and a reference to note 1 after ``after``."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    body = parts["word/document.xml"].decode()
    ref = '</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r><w:r><w:t>'
    parts["word/document.xml"] = body.replace(after, after + ref, 1).encode()
    parts["word/footnotes.xml"] = _NOTES.encode()
    rels = parts["word/_rels/document.xml.rels"].decode()
    rel = (
        '<Relationship Id="rIdFn" Target="footnotes.xml" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/footnotes"/></Relationships>'
    )
    parts["word/_rels/document.xml.rels"] = rels.replace("</Relationships>", rel).encode()
    types = parts["[Content_Types].xml"].decode()
    over = (
        '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.footnotes+xml"/></Types>'
    )
    parts["[Content_Types].xml"] = types.replace("</Types>", over).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


def _docx(path: Path) -> None:
    d = docx.Document()
    d.add_paragraph(META.title, style="Title")
    d.add_heading("一、引言", level=1)
    d.add_paragraph(P1)
    d.add_heading("（一）良好监管实践", level=2)
    d.add_paragraph(P2)
    d.add_heading("二、相互承认", level=1)
    d.add_paragraph(P3)
    d.save(str(path))
    _with_footnote(path, "相互通报")


def _markdown(path: Path) -> None:
    path.write_text(
        f"# {META.title}\n\n## 一、引言\n\n{P1[:20]}\n{P1[20:]}\n\n### （一）良好监管实践\n\n"
        f"{P2}\n\n```\ncode is not prose\n```\n\n## 二、相互承认\n\n{P3}\n",
        encoding="utf-8",
    )


def _html(path: Path) -> None:
    path.write_text(
        f"<html><head><title>{META.title} - 期刊网</title><meta name='author' content='杨某'></head>"
        "<body><nav><a href='/'>首页</a> <a href='/j'>期刊导航</a></nav>"
        f"<article><h1>{META.title}</h1><h2>一、引言</h2><p>{P1}</p>"
        f"<h3>（一）良好监管实践</h3><p>{P2}</p><h2>二、相互承认</h2><p>{P3}</p></article>"
        "<footer><p>版权所有 © 期刊网</p></footer><script>var x = '不是正文';</script></body></html>",
        encoding="utf-8",
    )


WANT = [
    (("一、引言",), P1),
    (("一、引言", "（一）良好监管实践"), P2),
    (("二、相互承认",), P3),
]


@pytest.mark.parametrize(("name", "make"), [("a.docx", _docx), ("a.md", _markdown), ("a.html", _html)])
def test_a_file_gives_its_paragraphs_under_their_headings(tmp_path, name, make):
    path = tmp_path / name
    make(path)
    source = read_source(path)
    assert source.info["title"] == META.title
    body = [p for p in clean_document(source, META, ()) if p.kind == "body"]
    # the body keeps the note's marker where Word referenced it, as the .txt seeds do
    assert [(p.section, p.text.replace("①", "")) for p in body] == WANT
    assert all(p.page_start is None for p in body)  # these formats have no pages


def test_a_word_footnote_is_linked_to_the_paragraph_that_references_it(tmp_path):
    path = tmp_path / "a.docx"
    _docx(path)
    units = clean_document(read_source(path), META, ())
    notes = [p for p in units if p.kind == "footnote"]
    assert [n.text for n in notes] == ["参见《技术性贸易壁垒协定》第2条。"]
    first = next(p for p in units if p.kind == "body")
    assert notes[0].ref in first.links and first.ref in notes[0].links


def test_a_text_file_reads_as_it_always_did(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(f"{P1}\n\n{P2}\n", encoding="utf-8")
    source = read_source(path)
    assert source.kind == "txt" and not source.has_hints


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("a.doc", b"\xd0\xcf\x11\xe0 old word", "save it as .docx"),
        ("a.rtf", b"{\\rtf1 hello}", "supported: pdf, docx"),
        ("README", b"hello", "files without a suffix"),
        ("a.docx", b"PK\x03\x04 not really a zip", "not a readable Word file"),
        ("a.md", b"```\nonly code\n```\n", "no paragraphs"),
        ("a.html", b"<html><body><nav>menu</nav><script>x</script></body></html>", "no paragraphs"),
        ("a.txt", b"", "file is empty"),
        ("a.md", "标题".encode("gb18030"), "not valid UTF-8"),
    ],
)
def test_a_file_no_reader_takes_is_refused_in_one_line_naming_it(tmp_path, name, data, says):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CorpusError) as err:
        read_source(path)
    message = str(err.value)
    assert says in message and str(path) in message and "\n" not in message
    assert isinstance(err.value, CorpusError)


def test_every_supported_suffix_has_a_reader(tmp_path):
    for suffix in SUFFIXES:
        path = tmp_path / f"empty{suffix}"
        path.write_bytes(b"")
        with pytest.raises(Exception) as err:
            read_source(path)
        assert "cannot read" not in str(err.value), suffix
