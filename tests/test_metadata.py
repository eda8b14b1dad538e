"""A new document's sidecar facts are guessed from what its file states, and only from that."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.metadata import guess_meta, make_doc_id
from assistant.ingest.source import SourceText

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _guess(first_page: str, **info: str) -> dict[str, object]:
    return guess_meta(SourceText((), 0, {"first_page": first_page, **info}), Path("paper.pdf"))


def test_the_first_page_of_a_seed_gives_its_facts():
    # li-2023's extraction as it came out of the PDF: abstract, 文章编号 line, title, author, affiliation
    got = _guess((CORPUS / "li-2023.txt").read_text(encoding="utf-8")[:3000])
    assert got == {
        "title": "WTO多边贸易谈判的停滞与突破",
        "authors": ["李科"],
        "journal": "湖北经济学院学报",
        "affiliation": "中南大学法学院",
        "year": 2023,
        "doi": "10.3969/j.issn.1672-626x.2023.05.011",
    }


@pytest.mark.parametrize(
    ("line", "year"),
    [
        ("2023年9月 第21卷 第5期", 2023),
        ("上海对外经贸大学学报 2021 年第 5 期", 2021),
        ("Journal of SUIBE No.5, 2021", 2021),
        ("Vol. 12 (2021) pp. 3-20", 2021),
        ("Vol. 3, No. 2, 2019", 2019),
        ("文章编号：1672-626X（2023）05-0117-11", 2023),
        ("肇始于2001年11月的多哈回合", None),  # an event's date in a sentence is not the paper's year
        ("2022年我国企业因技术性贸易壁垒导致的直接损失达532.7亿美元", None),
    ],
)
def test_the_year_is_taken_only_from_an_issue_line(line, year):
    assert _guess(line).get("year") == year


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("李 科", ["李科"]),
        ("徐 泉 耿旭洋", ["徐泉", "耿旭洋"]),
        ("张三1, 李四2*", ["张三", "李四"]),
        ("Jane Doe, John K. Smith and Wei Li", ["Jane Doe", "John K. Smith", "Wei Li"]),
        ("湖北经济学院学报", None),  # a banner is no name
        ("Abstract", None),
    ],
)
def test_author_lines(line, authors):
    assert _guess(f"区域贸易协定中的监管合作\n{line}\n").get("authors") == authors


def test_the_files_own_metadata_wins_but_placeholders_are_ignored():
    assert _guess("", title="Regulatory Cooperation in FTAs", author="Jane Doe; Wei Li")["authors"] == [
        "Jane Doe",
        "Wei Li",
    ]
    got = _guess(
        "区域贸易协定中的监管合作\n杨 柳\n", title="Microsoft Word - draft3.docx", author="Administrator"
    )
    assert got["title"] == "区域贸易协定中的监管合作" and got["authors"] == ["杨柳"]
    assert _guess("", title="untitled")["title"] == "paper"  # the file's name as the last resort


@pytest.mark.parametrize(
    ("meta", "taken", "doc_id"),
    [
        ({"authors": ["李科"], "year": 2023}, (), "li-2023"),
        ({"authors": ["徐泉", "耿旭洋"], "year": 2021}, (), "xu-geng-2021"),
        ({"authors": ["欧阳修", "王五", "赵六"], "year": 2020}, (), "ouyang-etal-2020"),
        ({"authors": ["Jane Doe"]}, (), "doe-nd"),
        ({"authors": ["José Núñez"], "year": 2019}, (), "nunez-2019"),
        ({"authors": ["李科"], "year": 2023}, ("li-2023",), "li-2023b"),
        ({"authors": ["李科"], "year": 2023}, ("li-2023", "li-2023b"), "li-2023c"),
        ({"title": "监管合作研究"}, (), "jian-guan-he-zuo-nd"),
    ],
)
def test_doc_ids_are_slugs_of_first_authors_and_year_made_unique(meta, taken, doc_id):
    assert make_doc_id(meta, Path("x.pdf"), set(taken)) == doc_id
