"""The PDF layer: papers typeset from the seed texts come back as the same paragraphs, with pages.

Each seed paper is printed by ``pdfmaker`` (reportlab, the built-in STSong-Light CID font, running
head, page numbers, footnotes at the foot of the page or column, one and two columns) and read back
through :func:`read_pdf` and the cleaner. The cleaned ``.txt`` seed is the gold: the PDF path must
give the same body paragraphs, the pages the typesetter printed them on, the same sections, and
footnotes linked to the paragraph that carries their marker.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from assistant.errors import DocumentError
from assistant.ingest.corpus import load_corpus
from assistant.ingest.formats.pdf import read_pdf
from assistant.ingest.segment import clean_document
from assistant.records import Document, DocumentMeta, Paragraph
from tests.pdfmaker import Style, make_pdf

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _norm(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def seeds() -> dict[str, Document]:
    return {d.doc_id: d for d in load_corpus(CORPUS)}


def _read_back(doc: Document, tmp: Path, style: Style, repeat: int = 1):
    path = tmp / f"{doc.doc_id}-{style.columns}.pdf"
    placed = make_pdf(doc, path, style, repeat=repeat)
    source = read_pdf(path)
    return placed, source, clean_document(source, doc.meta, ())


CASES = [(doc_id, cols) for doc_id in ("li-2023", "xu-geng-2021", "yang-nd") for cols in (1, 2)]


@pytest.mark.parametrize(("doc_id", "columns"), CASES)
def test_pdf_gives_the_seed_paragraphs_pages_sections_and_notes(seeds, tmp_path, doc_id, columns):
    doc = seeds[doc_id]
    placed, source, paras = _read_back(doc, tmp_path, Style(columns=columns))
    want = [p for p in doc.paragraphs if p.kind == "body"]
    got = {_norm(p.text): p for p in paras if p.kind == "body"}
    same = [p for p in want if _norm(p.text) in got]
    assert len(same) >= 0.95 * len(want), f"{len(same)}/{len(want)} body paragraphs identical"
    assert len(got) <= len(want) + 1  # nothing split into many, nothing of the furniture kept
    printed = {_norm(k): v for k, v in placed.pages.items()}
    for p in same:
        q = got[_norm(p.text)]
        assert (q.page_start, q.page_end) == printed[_norm(p.text)], p.ref
        assert q.section == p.section, p.ref
    assert source.pages == placed.page_count
    # footnotes: as many as the gold, each linked to the paragraph printing its marker
    gold_notes = [p for p in doc.paragraphs if p.kind == "footnote"]
    notes = [p for p in paras if p.kind == "footnote"]
    assert len(notes) == len(gold_notes)
    by_ref = {p.ref: p for p in paras}
    gold_by_ref = {p.ref: p for p in doc.paragraphs}
    for g, n in zip(gold_notes, notes, strict=True):
        assert len(n.links) == 1 and _norm(by_ref[n.links[0]].text) == _norm(gold_by_ref[g.links[0]].text)
        assert n.page_start is not None
    # every other unit too: abstracts and keywords in both languages (the English ones printed
    # small after the body, where they must not be taken for footnotes)
    units = {(p.kind, _norm(p.text)) for p in paras}
    kept = [p for p in doc.paragraphs if (p.kind, _norm(p.text)) in units]
    assert len(kept) >= 0.95 * len(doc.paragraphs), [p.ref for p in doc.paragraphs if p not in kept]
    assert {p.kind for p in doc.paragraphs} == {p.kind for p in paras}


@pytest.mark.parametrize("columns", [1, 2])
def test_running_heads_and_page_numbers_never_reach_a_paragraph(seeds, tmp_path, columns):
    _, _, paras = _read_back(
        seeds["li-2023"], tmp_path, Style(columns=columns, running_head="湖北经济学院学报")
    )
    for p in paras:
        assert "湖北经济学院学报" not in p.text
        assert not p.text.strip().isdigit()


def test_a_sixty_page_paper_keeps_every_page(seeds, tmp_path):
    doc = seeds["xu-geng-2021"]
    _placed, source, paras = _read_back(doc, tmp_path, Style(), repeat=6)
    assert source.pages >= 60
    body = [p for p in paras if p.kind == "body"]
    assert len(body) >= 0.95 * 6 * sum(p.kind == "body" for p in doc.paragraphs)
    starts = [p.page_start for p in body]
    assert starts == sorted(starts) and starts[-1] >= source.pages - 1


def _english() -> Document:
    meta = DocumentMeta("smith-2024", "Regulatory Cooperation in Trade Agreements", authors=("Jane Smith",))
    texts = [
        (("1. Introduction",), "Trade agreements increasingly address regulation behind the border. " * 6),
        (("1. Introduction",), "This paper studies how regulatory cooperation chapters are drafted. " * 5),
        (
            ("2. Mutual recognition",),
            "Mutual recognition lets a product tested in one party be sold in the other. " * 5,
        ),
        (
            ("2. Mutual recognition", "2.1 Conformity assessment"),
            "Conformity assessment bodies may be accredited abroad. " * 6,
        ),
    ]
    paras = tuple(
        Paragraph(f"smith-2024:p{k}", "smith-2024", "body", k, section, " ".join(text.split()))
        for k, (section, text) in enumerate(texts, 1)
    )
    return Document(meta, "x", paras)


@pytest.mark.parametrize("columns", [1, 2])
def test_an_english_paper_in_a_latin_face_with_bold_headings(tmp_path, columns):
    doc = _english()
    style = Style(
        columns=columns, body_font="Times-Roman", head_font="Times-Bold", running_head="Journal of Trade Law"
    )
    _, _, paras = _read_back(doc, tmp_path, style)
    got = [(p.section, p.text) for p in paras if p.kind == "body"]
    assert got == [(p.section, p.text) for p in doc.paragraphs]


def _blank_pdf(path: Path, pages: int) -> None:
    c = canvas.Canvas(str(path))
    for _ in range(pages):
        c.rect(50, 50, 400, 600, fill=1)  # an image-like page: marks, no text layer
        c.showPage()
    c.save()


def _encrypted_pdf(path: Path) -> None:
    c = canvas.Canvas(str(path), encrypt="secret")
    c.setFont("Helvetica", 12)
    c.drawString(72, 720, "Confidential text")
    c.save()


def _truncated(path: Path, seeds_doc: Document) -> None:
    full = path.with_name("full.pdf")
    make_pdf(seeds_doc, full, Style())
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _zero_pages(path: Path) -> None:
    """A well-formed PDF whose page tree is empty."""
    import pypdfium2

    pypdfium2.PdfDocument.new().save(str(path))


BAD = [
    ("scan", lambda p, d: _blank_pdf(p, 3), "no text layer"),
    ("encrypted", lambda p, d: _encrypted_pdf(p), "encrypted"),
    ("empty", lambda p, d: p.write_bytes(b""), "not a readable PDF"),
    ("zero pages", lambda p, d: _zero_pages(p), "the PDF has no pages"),
    ("not a pdf", lambda p, d: p.write_text("just words, not a PDF"), "not a readable PDF"),
    ("truncated", _truncated, "PDF"),
]


@pytest.mark.parametrize(("case", "make", "message"), BAD, ids=[b[0] for b in BAD])
def test_unreadable_pdfs_get_one_line_that_names_the_file(seeds, tmp_path, case, make, message):
    path = tmp_path / "paper.pdf"
    make(path, seeds["yang-nd"])
    with pytest.raises(DocumentError) as err:
        read_pdf(path)
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text


@pytest.mark.parametrize("first_folio", [1, 117])
def test_pages_are_the_numbers_printed_on_them(seeds, tmp_path, first_folio):
    # a journal paper starts on the page the issue has reached: citations give the printed number
    doc = seeds["yang-nd"]
    placed, _, paras = _read_back(doc, tmp_path, Style(first_folio=first_folio))
    printed = {_norm(k): v for k, v in placed.pages.items()}
    body = [p for p in paras if p.kind == "body" and _norm(p.text) in printed]
    assert len(body) >= 20
    shift = first_folio - 1
    for p in body:
        first, last = printed[_norm(p.text)]
        assert (p.page_start, p.page_end) == (first + shift, last + shift), p.ref


def test_without_printed_numbers_pages_are_the_pdf_pages(seeds, tmp_path):
    doc = seeds["yang-nd"]
    placed, _, paras = _read_back(doc, tmp_path, Style(page_numbers=False))
    printed = {_norm(k): v for k, v in placed.pages.items()}
    body = [p for p in paras if p.kind == "body" and _norm(p.text) in printed]
    assert body and all((p.page_start, p.page_end) == printed[_norm(p.text)] for p in body)


def _page(k: int, head: str, foot: str) -> list:
    from assistant.ingest.formats.pdfchars import PdfLine

    body = [PdfLine("正文" * 10, k, 60, 500, 700 - 20 * i, 690 - 20 * i, 10.5, False) for i in range(5)]
    return [
        PdfLine(head, k, 60, 300, 790, 780, 9, False),
        *body,
        PdfLine(foot, k, 280, 300, 40, 30, 9, False),
    ]


@pytest.mark.parametrize(
    ("heads", "feet", "offset"),
    [
        (["湖北经济学院学报"] * 4, ["117", "118", "119", "120"], 116),
        (
            ["118 湖北经济学院学报", "李科：WTO谈判 119", "120 湖北经济学院学报", "李科：WTO谈判 121"],
            [""] * 4,
            117,
        ),
        (["湖北经济学院学报"] * 4, ["- 3 -", "- 4 -", "- 5 -", "- 6 -"], 2),
        (["湖北经济学院学报"] * 4, ["1", "2", "3", "4"], 0),
        (["湖北经济学院学报"] * 4, ["7", "", "", "30"], 0),  # no consistent numbering: PDF pages
        (["2023年第5期"] * 4, [""] * 4, 0),  # a year in the banner is no page number
    ],
)
def test_the_printed_page_numbering_is_found_in_heads_and_feet(heads, feet, offset):
    from assistant.ingest.formats.pdf import folio_offset

    pages = [_page(k, h, f) for k, (h, f) in enumerate(zip(heads, feet, strict=True), 1)]
    assert folio_offset(pages) == offset
