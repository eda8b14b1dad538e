"""Citation lines over the three seed papers' real metadata: never a section number read as a year."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.answer.compose import answer_text, cite_line
from assistant.ingest.corpus import read_meta
from assistant.records import Citation, Paragraph

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
META = {m.doc_id: m for m in (read_meta(p)[0] for p in sorted(CORPUS.glob("*.toml")))}


def _para(doc_id: str, section: tuple[str, ...], n: int = 19) -> Paragraph:
    return Paragraph(f"{doc_id}:p{n}", doc_id, "body", n, section, "正文。")


@pytest.mark.parametrize(
    ("doc_id", "section", "lang", "line"),
    [
        # yang-nd states no year: "n.d." in parentheses, the heading's own "2" after "§".
        (
            "yang-nd",
            ("2 我国机制创新的三维突破路径——动态解构",),
            "en",
            "杨柳 (n.d.), § 2 我国机制创新的三维突破路径——动态解构, yang-nd:p19",
        ),
        (
            "xu-geng-2021",
            ("一、国际监管合作的发展趋向",),
            "en",
            "徐泉, 耿旭洋 (2021), § 一、国际监管合作的发展趋向, xu-geng-2021:p19",
        ),
        (
            "li-2023",
            ("一、多边贸易谈判停滞的表现及后果", "（二）多边贸易谈判停滞的后果"),
            "en",
            "李科 (2023), § （二）多边贸易谈判停滞的后果, li-2023:p19",
        ),
        ("li-2023", (), "en", "李科 (2023), li-2023:p19"),
        # The Chinese line names the paper by title (no year on it at all); the section is marked too.
        (
            "yang-nd",
            ("2 我国机制创新的三维突破路径——动态解构",),
            "zh",
            "《非关税隐性壁垒破解机制》（§ 2 我国机制创新的三维突破路径——动态解构，yang-nd:p19）",
        ),
        (
            "xu-geng-2021",
            ("1.1 国际规则嵌套",),
            "zh",
            "《边境后措施国际监管合作》（§ 1.1 国际规则嵌套，xu-geng-2021:p19）",
        ),
        ("li-2023", (), "zh", "《WTO谈判的停滞与突破》（li-2023:p19）"),
    ],
)
def test_cite_line_over_the_seed_documents(
    doc_id: str, section: tuple[str, ...], lang: str, line: str
) -> None:
    assert cite_line(lang, META[doc_id], _para(doc_id, section)) == line  # type: ignore[arg-type]


def test_seed_metadata_is_what_the_table_assumes() -> None:
    assert {d: m.year for d, m in META.items()} == {"li-2023": 2023, "xu-geng-2021": 2021, "yang-nd": None}


@pytest.mark.parametrize("doc_id", sorted(META))
def test_english_answer_line_has_a_parenthesised_year_before_any_section_number(doc_id: str) -> None:
    citation = Citation(1, _para(doc_id, ("2 我国机制创新",)), META[doc_id].label, "正文。", 1.0)
    text = answer_text("en", [citation], META)
    # who, then "(2021)" or "(n.d.)", then the section marked with §: the bare "2" never follows a comma
    assert re.search(r"^From .+ \((?:\d{4}|n\.d\.)\), § 2 我国机制创新, " + re.escape(doc_id), text, re.M)
    assert not re.search(r", \d+ 我国", text)
