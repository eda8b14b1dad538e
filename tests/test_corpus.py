"""Tests for assistant.ingest.corpus: loading errors, the cleaner on real snippets, and golden documents."""

# Real lines copied from the seed papers are wider than the line limit; keeping them verbatim matters.
# ruff: noqa: E501

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from assistant.ingest.corpus import CorpusError, clean_document, find_paragraph, load_corpus, neighbours
from assistant.records import Document, DocumentMeta

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
META = DocumentMeta("t-2021", "边境后措施国际监管合作发展趋向与问题阐释", authors=("徐泉", "耿旭洋"))


@pytest.fixture(scope="module")
def docs() -> dict[str, Document]:
    return {d.doc_id: d for d in load_corpus(CORPUS)}


def _body(raw: str, meta: DocumentMeta = META) -> list[str]:
    return [p.text for p in clean_document(raw, meta) if p.kind == "body"]


# --- loading errors -----------------------------------------------------------------------------

SIDECAR = 'doc_id = "a-2020"\ntitle = "标题"\n'


def _write(dirpath: Path, name: str, text: str | bytes, sidecar: str | None = SIDECAR) -> None:
    dirpath.mkdir(parents=True, exist_ok=True)
    path = dirpath / f"{name}.txt"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    if sidecar is not None:
        (dirpath / f"{name}.toml").write_text(sidecar, encoding="utf-8")


GOOD = "引言段落的第一句话在这里。第二句话也在这里。\n"


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda d: None, "not found"),
        (lambda d: d.mkdir(), "has no documents"),
        (lambda d: _write(d, "a", ""), "empty"),
        (lambda d: _write(d, "a", "  \n\n"), "empty"),
        (lambda d: _write(d, "a", "中文".encode("gb18030")), "UTF-8"),
        (lambda d: _write(d, "a", b"\x89PNG\x00\x00"), "binary"),
        (lambda d: _write(d, "a", GOOD, sidecar=None), "sidecar"),
        (lambda d: _write(d, "a", GOOD, sidecar="doc_id = 'a'\ntitle = "), "invalid TOML"),
        (lambda d: _write(d, "a", GOOD, sidecar='title = "t"\n'), "doc_id"),
        (lambda d: _write(d, "a", GOOD, sidecar='doc_id = "a-1"\n'), "title"),
        (lambda d: (_write(d, "a", GOOD), _write(d, "b", GOOD)), "duplicate doc_id"),
    ],
)
def test_corpus_errors(tmp_path: Path, setup, needle: str) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    setup(corpus)
    with pytest.raises(CorpusError) as err:
        load_corpus(corpus)
    message = str(err.value)
    assert needle in message
    assert "\n" not in message


def test_error_names_the_file(tmp_path: Path) -> None:
    _write(tmp_path, "bad", "中文".encode("gb18030"))
    with pytest.raises(CorpusError, match=r"bad\.txt"):
        load_corpus(tmp_path)


def test_symlink_escaping_the_corpus_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(GOOD, encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").symlink_to(outside)
    (corpus / "a.toml").write_text(SIDECAR, encoding="utf-8")
    with pytest.raises(CorpusError, match="outside the corpus"):
        load_corpus(corpus)


def test_symlink_inside_the_corpus_is_fine(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _write(corpus, "a", GOOD)
    (corpus / "sub").mkdir()
    (corpus / "a.txt").rename(corpus / "sub" / "real.txt")
    (corpus / "a.txt").symlink_to(corpus / "sub" / "real.txt")
    (doc,) = load_corpus(corpus)
    assert doc.paragraphs[0].ref == "a-2020:p1"


def test_sha256_is_of_raw_bytes(tmp_path: Path) -> None:
    import hashlib

    _write(tmp_path, "a", GOOD)
    (doc,) = load_corpus(tmp_path)
    assert doc.source_sha256 == hashlib.sha256(GOOD.encode()).hexdigest()


def test_real_corpus_sidecars_match_seeds(docs: dict[str, Document]) -> None:
    assert sorted(docs) == ["li-2023", "xu-geng-2021", "yang-nd"]
    assert docs["xu-geng-2021"].meta.year == 2021
    assert docs["li-2023"].meta.journal == "湖北经济学院学报"
    assert docs["yang-nd"].meta.year is None  # the paper states no publication year
    assert all(len(d.meta.short_title) <= 12 for d in docs.values())


# --- the cleaner on real snippets ---------------------------------------------------------------

# xu-geng-2021: one visual line per line, CJK letter-spaced lines, a page break with the
# running head and a footnote in the middle of a paragraph.
XU_PAGE_BREAK = "\n".join(
    [
        "设置联合监管部",
        "",
        "徐 泉 耿旭洋 边境后措施国际监管合作发展趋向与问题阐释",
        "",
        "① 原文：A number of economists argue that “behind-the-border” barriers imposed by foreign governments prevent U.S. trade in services ",
        "from expanding to its full potential. The United States continues to negotiate trade agreements to lower these barriers.",
        " 门 以 及 涵 盖 职 业 资 格 和 产 品 标 准 的 相 互 认 可 安 排 来 实 现 两 国 更 深 层 次 的 监 管 合 作 。",
    ]
)

# yang: [n] citation markers and the punctuation after them on lines of their own.
YANG_MARKERS = """足 9%
[2]
。以 5G 通信标准为例，高通、爱立信等欧美企
"""

# li: a page number and a blank-line page break inside a paragraph.
LI_PAGE_NUMBER = """甚至降低了各国参与代价高昂的多边谈判的意愿直至取代多边贸易体系[7]。除此之外，RTA的兴起意味着

118



原本在全球内的多边贸易将转移至更优惠、更灵活的区域贸易集团内部进行，贸易转移效应冲击了最惠国
"""


def test_page_break_with_running_head_and_footnote_is_rejoined() -> None:
    units = clean_document(XU_PAGE_BREAK, META)
    body = [p for p in units if p.kind == "body"]
    notes = [p for p in units if p.kind == "footnote"]
    assert [p.text for p in body] == [
        "设置联合监管部门以及涵盖职业资格和产品标准的相互认可安排来实现两国更深层次的监管合作。"
    ]
    assert len(notes) == 1 and notes[0].text.startswith("原文：A number of economists")
    assert notes[0].text.endswith("to lower these barriers.")
    assert "services from expanding" in notes[0].text


def test_citation_marker_lines_are_glued() -> None:
    (text,) = _body(YANG_MARKERS, DocumentMeta("y", "无关标题"))
    assert text == "足9%[2]。以5G通信标准为例，高通、爱立信等欧美企"


def test_page_number_inside_paragraph_is_dropped() -> None:
    (text,) = _body(LI_PAGE_NUMBER, DocumentMeta("l", "无关标题"))
    assert "118" not in text
    assert "RTA的兴起意味着原本在全球内的多边贸易" in text


def test_footnote_links_both_ways() -> None:
    raw = (
        "国际标准更高的标准，允许成员方根据本国国情采用比根据国际标准、指南或建议保护水平更高的标准。①\n\n"
        "国际标准化对贸易的促进作用要多于相互认可。\n\n"
        "Journal of SUIBE No.5, 2021 上海对外经贸大学学报 2021 年第 5 期\n\n"
        "① Article 3, Agreement on the Implementation of Sanitary and Phytosanitary.\n"
        " 响。比如，国际标准化可能会导致产品种类减少。\n"
    )
    units = {p.ref: p for p in clean_document(raw, META)}
    note = units["t-2021:fn1"]
    assert note.kind == "footnote" and note.text.startswith("Article 3")
    assert note.links == ("t-2021:p1",)
    assert units["t-2021:p1"].links == ("t-2021:fn1",)
    assert "更高的标准。①" in units["t-2021:p1"].text  # the marker stays in the body text


@pytest.mark.parametrize(
    ("raw", "section"),
    [
        (
            "一、多边贸易谈判停滞的原因\n\n（一）WTO多边贸易体制内的因素\n\n1. 正式决策机制存在缺陷\n\n正文。\n",
            ("一、多边贸易谈判停滞的原因", "（一）WTO多边贸易体制内的因素", "1. 正式决策机制存在缺陷"),
        ),
        (
            "1 非关税隐性壁垒的规则化生成与作用机理\n\n1.1 国际规则嵌套中的结构性权力失衡\n\n1.1.1 国际标准制定权的制度性倾斜\n\n正文。\n",
            (
                "1 非关税隐性壁垒的规则化生成与作用机理",
                "1.1 国际规则嵌套中的结构性权力失衡",
                "1.1.1 国际标准制定权的制度性倾斜",
            ),
        ),
        ("开头的引言段落。\n", ("引言",)),
    ],
)
def test_headings_build_section_paths(raw: str, section: tuple[str, ...]) -> None:
    (unit,) = [p for p in clean_document(raw, DocumentMeta("h", "无关标题")) if p.kind == "body"]
    assert unit.section == section
    assert unit.text.endswith("。")


def test_numbered_list_items_are_not_headings() -> None:
    raw = "目前的主要表现：（1）谈判回合成果产出匮乏。\n\n（2）原有议题难以推进。\n"
    units = clean_document(raw, DocumentMeta("h", "无关标题"))
    assert all(p.section == ("引言",) for p in units)


def test_clean_document_is_deterministic() -> None:
    raw = (CORPUS / "li-2023.txt").read_text(encoding="utf-8")
    meta = load_corpus(CORPUS)[0].meta
    assert clean_document(raw, meta) == clean_document(raw, meta)


# --- golden documents ---------------------------------------------------------------------------

GOLDEN = {
    "xu-geng-2021": {
        "counts": {"body": 49, "footnote": 9, "abstract": 1, "abstract-en": 1, "keywords-en": 1},
        "refs": [
            ("abstract", "摘要：原有国际经贸规则谈判主要关注各国的边境措施。", ("摘要",)),
            ("p1", "早期的经贸谈判更多关注各国的边境措施（border measures）", ("引言",)),
            (
                "p4",
                "相互认可协议（mutual recognition agreement）指两个或两个以上成员国承认彼此标准",
                (
                    "一、边境后措施国际监管合作的具体形式",
                    "（一）边境后措施国际监管合作的主要形式",
                    "1. 相互认可",
                ),
            ),
            (
                "p31",
                "1.经济主权让渡问题。从风险方面看",
                ("四、边境后措施国际监管合作的局限与破解路径", "（一）边境后措施国际监管合作的局限"),
            ),
            ("fn1", "原文：A number of economists argue", ("引言",)),
            ("abstract-en", "Abstract: The original negotiation of international economic", ("Abstract",)),
        ],
    },
    "yang-nd": {
        "counts": {"body": 25, "abstract": 1},
        "refs": [
            ("abstract", "摘要：本文在创新机制的实践验证与动态调适策略的基础上", ("摘要",)),
            ("p1", "全球经贸规则体系正经历结构性变革", ("引言",)),
            (
                "p3",
                "世界银行《2023年全球标准治理报告》指出，美欧私营机构主导了全球82.6%",
                (
                    "1 非关税隐性壁垒的规则化生成与作用机理",
                    "1.1 国际规则嵌套中的结构性权力失衡",
                    "1.1.1 国际标准制定权的制度性倾斜",
                ),
            ),
            (
                "p13",
                "目前，我国非关税隐性壁垒的破解已逐步突破传统",
                ("2 我国机制创新的三维突破路径——动态解构框架下的系统性突围",),
            ),
            (
                "p25",
                "建立“非关税壁垒响应中枢”",
                (
                    "4 非关税隐性壁垒破解机制的深化路径与协同框架",
                    "4.4 三维协同框架：制度——技术——治理的深度融合",
                ),
            ),
        ],
    },
    "li-2023": {
        "counts": {"body": 28, "footnote": 9, "abstract": 1, "keywords": 1},
        "refs": [
            ("keywords", "关键词：多边贸易谈判；多哈回合；谈判停滞；WTO改革；贸易治理", ("关键词",)),
            ("p1", "世界贸易组织（WTO）多边贸易谈判为酝酿国际贸易纪律提供了多边造法平台", ("引言",)),
            (
                "p7",
                "多边贸易谈判推崇的协商一致决策方式",
                ("二、多边贸易谈判停滞的原因", "（一）WTO多边贸易体制内的因素", "1. 正式决策机制存在缺陷"),
            ),
            ("p28", "牵动世界经济走向的多边贸易谈判停滞", ("四、结语",)),
            (
                "fn3",
                "美国经济学家巴格沃蒂1995年出版的《美国贸易政策》",
                (
                    "一、多边贸易谈判停滞的表现及后果",
                    "（二）多边贸易谈判停滞的后果",
                    "2. 区域贸易协定谈判进程加速",
                ),
            ),
        ],
    },
}


@pytest.mark.parametrize("doc_id", sorted(GOLDEN))
def test_golden_counts(docs: dict[str, Document], doc_id: str) -> None:
    assert dict(Counter(p.kind for p in docs[doc_id].paragraphs)) == GOLDEN[doc_id]["counts"]


@pytest.mark.parametrize(
    ("doc_id", "label", "prefix", "section"),
    [(d, *row) for d, g in GOLDEN.items() for row in g["refs"]],  # type: ignore[misc]
)
def test_golden_refs(docs: dict[str, Document], doc_id: str, label: str, prefix: str, section: tuple) -> None:
    unit = find_paragraph(docs.values(), f"{doc_id}:{label}")
    assert unit is not None
    assert unit.text.startswith(prefix)
    assert unit.section == section


FURNITURE = [
    re.compile(r"[\u4e00-\u9fff] [\u4e00-\u9fff]"),  # CJK letter-spacing
    re.compile(r"耿旭洋|李\s*科：|Journal of|学报|doi:|Vol\.\d"),  # running heads and banners
    re.compile(r"^\d{1,4}$"),  # bare page numbers
    re.compile(r"\b(?:va lue|domes t ic|integrat ion|Congress ional)\b"),  # letter-spaced English
]


@pytest.mark.parametrize("doc_id", sorted(GOLDEN))
def test_no_furniture_left(docs: dict[str, Document], doc_id: str) -> None:
    for unit in docs[doc_id].paragraphs:
        for pat in FURNITURE:
            assert not pat.search(unit.text), (unit.ref, pat.pattern)


@pytest.mark.parametrize("doc_id", sorted(GOLDEN))
def test_units_are_well_formed(docs: dict[str, Document], doc_id: str) -> None:
    units = docs[doc_id].paragraphs
    refs = [p.ref for p in units]
    assert len(refs) == len(set(refs))
    body = [p for p in units if p.kind == "body"]
    assert [p.number for p in body] == list(range(1, len(body) + 1))
    assert all(p.ref == f"{doc_id}:p{p.number}" for p in body)
    by_ref = {p.ref: p for p in units}
    for p in units:
        assert p.text and p.text == p.text.strip()
        assert not p.text.startswith(("[", "。", "，"))
        for link in p.links:  # links are symmetric
            assert p.ref in by_ref[link].links


def test_footnotes_link_to_their_markers(docs: dict[str, Document]) -> None:
    li = {p.ref: p for p in docs["li-2023"].paragraphs}
    markers = "①②③④⑤⑥⑦⑧⑨"
    for k, mark in enumerate(markers, 1):
        (body,) = li[f"li-2023:fn{k}"].links
        assert mark in li[body].text
    xu = {p.ref: p for p in docs["xu-geng-2021"].paragraphs}
    assert xu["xu-geng-2021:fn1"].links == ("xu-geng-2021:p1",)
    assert "Article 28.11,USMCA" in xu["xu-geng-2021:fn7"].text


def test_neighbours(docs: dict[str, Document]) -> None:
    doc = docs["li-2023"]
    assert [p.number for p in neighbours(doc, "li-2023:p1")] == [1, 2]
    assert [p.number for p in neighbours(doc, "li-2023:p5", k=2)] == [3, 4, 5, 6, 7]
    assert neighbours(doc, "li-2023:fn1") == ()
