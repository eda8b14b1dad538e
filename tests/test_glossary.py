"""The bilingual glossary: mining term glosses from cleaned text, the user file, and question lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.corpus import load_corpus
from assistant.ingest.glossary import (
    FUNCTION_CHARS,
    Glossary,
    GlossaryEntry,
    GlossaryError,
    abstract_pairs,
    format_table,
    parse_gloss,
)
from assistant.records import Paragraph

CORPUS = Path(__file__).parent.parent / "corpus"


@pytest.fixture(scope="module")
def corpus_units() -> list[Paragraph]:
    """Every unit of the real corpus, loaded once for this module."""
    return [p for d in load_corpus(CORPUS) for p in d.paragraphs]


def para(text: str, ref: str = "t:p1", kind: str = "body") -> Paragraph:
    doc_id = ref.split(":")[0]
    return Paragraph(ref, doc_id, kind, 1 if kind == "body" else 0, (), text)  # type: ignore[arg-type]


def triples(glossary: Glossary) -> set[tuple[str, str, str]]:
    return {(e.zh, e.en, e.abbr) for e in glossary.entries}


# --- parsing the parenthesis ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inside", "expected"),
    [
        ("negative integration", ("negative integration", "")),
        ("behind-the-border  measures", ("behind-the-border measures", "")),
        ("the global value chains", ("global value chains", "")),
        ("USITC", ("", "USITC")),
        ("G20", ("", "G20")),
        ("WP.29", ("", "WP.29")),
        ("impact assessment，IA", ("impact assessment", "IA")),
        ("regulatory impact analysis，下称RIA", ("regulatory impact analysis", "RIA")),
        (
            "Stabilization and Association Agreement，下称“SAAs”",
            ("Stabilization and Association Agreement", "SAAs"),
        ),
        ("下称CPTPP", ("", "CPTPP")),
        ("下称《SPS协议》", ("", "SPS")),
        ("TRIPS协定", ("", "TRIPS")),
        ("Achilles' Heel", ("Achilles' Heel", "")),
        ("Lawrence，1996", None),  # citation
        ("OECD，2013", None),
        ("Hoekman and Konan，1999", None),
        ("国务院发展研究中心，2023，p.45", None),
        ("2023/XX/EU", None),
        ("GB/T 20234", None),
        ("ISO官网可查", None),  # a remark in Chinese, not a term
        ("A级自动互认、B级补充验证、C级例外协商", None),
        ("1", None),
        ("based on", None),  # ends on a preposition: a phrase, not a term
        ("in appropriate circumstances", None),
        ("see https://www.wto.org/english/news", None),
        ("one two three four five six seven eight nine", None),  # more than eight words
    ],
)
def test_parse_gloss(inside: str, expected: tuple[str, str] | None) -> None:
    assert parse_gloss(inside) == expected


# --- mining with Chinese boundaries --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "负向一体化（negative integration）简单来说意味着消除国家间限制商品、服务和生产要素流动的壁垒。",
            {("负向一体化", "negative integration", "")},
        ),
        (  # the run before the parenthesis is a whole clause; the term starts after 的 / 即
            "以中间品贸易扩张为主要特征的全球价值链（the global value chains）飞速发展，"
            "然而不同国家的政策措施和标准存在不一致，"
            "即监管分化（regulatory divergence），导致产品需要重复检测。",
            {("全球价值链", "global value chains", ""), ("监管分化", "regulatory divergence", "")},
        ),
        (
            "因此，以各国国内规制（domestic regulations）为主要内容的边境后措施（behind-the-border measures）"
            "开始替代关税、配额等边境措施成为新的贸易壁垒，重点也从边境措施转向了边境后措施。",
            {("国内规制", "domestic regulations", ""), ("边境后措施", "behind-the-border measures", "")},
        ),
        (  # titles in 《》 are taken whole; 下称 gives the abbreviation; quoted terms are taken whole
            "在《全面与进步跨太平洋伙伴关系协定》（下称CPTPP）中"
            "就专设“监管一致性”（Regulatory Coherence）章节。",
            {("全面与进步跨太平洋伙伴关系协定", "", "CPTPP"), ("监管一致性", "Regulatory Coherence", "")},
        ),
        (
            "除2015年《信息技术协定》（ITA）产品扩围谈判、2017年《贸易便利化协定》（TFA）①正式生效外，再无显著建树。",
            {("信息技术协定", "", "ITA"), ("贸易便利化协定", "", "TFA")},
        ),
        (  # numbers stay whole: 二十国集团, not 十国集团
            "多哈回合谈判中，农业谈判二十国集团（G20）、三十三国集团（G33）、九十国集团（G90）等发展中国家利益集团的身影异常活跃。",
            {("二十国集团", "", "G20"), ("三十三国集团", "", "G33"), ("九十国集团", "", "G90")},
        ),
        (
            "美国国际贸易委员会（USITC）2023年数据显示，针对中国企业的“337调查”，76%涉及“标准必要专利”。",
            {("美国国际贸易委员会", "", "USITC")},
        ),
        (  # 等效性 starts with the character 等 but is one word
            "等效性（equivalence）主要指一成员国对另一出口成员国标准的单方认可。",
            {("等效性", "equivalence", "")},
        ),
        (
            "而良好监管实践的核心则在于监管影响分析（regulatory impact analysis，下称RIA）机制。",
            {("监管影响分析", "regulatory impact analysis", "RIA")},
        ),
        (
            "与欧盟成员候选国签订的协议，即所谓的稳定与结盟协议"
            "（Stabilization and Association Agreement，下称“SAAs”），"
            "在SAAs下，欧盟的做法不是直接设立联合监管部门。",
            {("稳定与结盟协议", "Stabilization and Association Agreement", "SAAs")},
        ),
        (  # a transliterated name stays whole; the citation (Lawrence，1996) is skipped
            "“深层一体化”（deep integration）最早由罗伯特·劳伦斯（Robert Z. Lawrence）提出，"
            "那么该协定就是深层一体化贸易协定（Lawrence，1996）。",
            {("深层一体化", "deep integration", ""), ("罗伯特·劳伦斯", "Robert Z. Lawrence", "")},
        ),
        (
            "诸边（plurilateralism）谈判的经济学理论是“少边主义”（Minilateralism），"
            "代表着志同道合者（Like-minded）基于相同利益的合作倾向。",
            {
                ("诸边", "plurilateralism", ""),
                ("少边主义", "Minilateralism", ""),
                ("志同道合者", "Like-minded", ""),
            },
        ),
        (
            "《服务贸易总协定》（GATS）第17条以及《与贸易有关的知识产权协定》（TRIPS协定）第3条也均有规制体现。",
            {("服务贸易总协定", "", "GATS"), ("与贸易有关的知识产权协定", "", "TRIPS")},
        ),
        (  # (1) and "based on" are not terms; 下称《SPS协议》 abbreviates the title
            "《实施卫生与植物卫生措施协议》（下称《SPS协议》）规定："
            "（1）完全符合（conform to），（2）作为参照基础（based on）。",
            {("实施卫生与植物卫生措施协议", "", "SPS")},
        ),
        (
            "系统集成了1980年以来的3274个技术性争端案例（ISO官网可查），参与国际论坛以及签订特定谈判协议(OECD，2013)。",
            set(),
        ),
        (
            "设立拟议监管措施的影响评估机制（impact assessment，IA）等作为重点内容。",
            {("影响评估机制", "impact assessment", "IA")},
        ),
        (
            "形成中心辐射式（hub-and-spoke）组织结构。APEC于1994年成立了标准和一致性委员会(SCSC)，致力于消除不良影响。",
            {("中心辐射式", "hub-and-spoke", ""), ("标准和一致性委员会", "", "SCSC")},
        ),
    ],
)
def test_mine_pairs_with_boundaries(text: str, expected: set[tuple[str, str, str]]) -> None:
    assert triples(Glossary.mine([para(text)])) == expected


def test_mine_merges_refs_and_abbreviation_sightings() -> None:
    units = [
        para("即监管分化（regulatory divergence），导致重复检测。", "a:p2"),
        para("国内监管分化（Regulatory Divergence）导致市场分割。", "a:p10"),
        para("监管影响分析（regulatory impact analysis）很重要。", "b:p1"),
        para("监管影响分析（RIA）也被称为监管影响评估。", "b:p3"),
    ]
    entries = {e.zh: e for e in Glossary.mine(units).entries}
    assert entries["监管分化"].refs == ("a:p2", "a:p10")  # natural order, merged across case
    assert entries["监管分化"].en == "regulatory divergence"
    assert entries["监管影响分析"] == GlossaryEntry(
        "监管影响分析", "regulatory impact analysis", "RIA", ("b:p1", "b:p3")
    )
    assert len(entries) == 2


def test_one_english_term_keeps_several_chinese_terms() -> None:
    units = [
        para("相互认可（mutual recognition）是一种方式。"),
        para("互认（mutual recognition）也常见。", "t:p2"),
    ]
    assert {e.zh for e in Glossary.mine(units).entries} == {"相互认可", "互认"}


def test_mine_is_deterministic_and_order_independent(corpus_units: list[Paragraph]) -> None:
    units = corpus_units
    first = Glossary.mine(units)
    assert Glossary.mine(units) == first
    assert Glossary.mine(reversed(units)) == first


def test_keywords_are_paired_only_when_aligned() -> None:
    units = [
        para("关键词：边境后措施；国际监管合作；开放式诸边协定", "k:keywords", "keywords"),
        para(
            "Keywords: behind-the-border measures; international regulatory cooperation; OPA",
            "k:keywords-en",
            "keywords-en",
        ),
        para("关键词：多哈回合；谈判停滞", "m:keywords", "keywords"),
        para("Keywords: Doha Round", "m:keywords-en", "keywords-en"),  # counts differ: no guessing
    ]
    assert triples(Glossary.mine(units)) == {
        ("边境后措施", "behind-the-border measures", ""),
        ("国际监管合作", "international regulatory cooperation", ""),
        ("开放式诸边协定", "", "OPA"),
    }


def test_abstract_pairs() -> None:
    units = [
        para("摘要：……", "a:abstract", "abstract"),
        para("Abstract: ...", "a:abstract-en", "abstract-en"),
        para("摘要：只有中文", "b:abstract", "abstract"),
    ]
    assert abstract_pairs(units) == [("a:abstract", "a:abstract-en")]


# --- lookups -------------------------------------------------------------------------------------

E = GlossaryEntry
SMALL = Glossary(
    (
        E("边境后措施", "behind-the-border measures"),
        E("边境措施", "border measures"),
        E("监管分化", "regulatory divergence"),
        E("监管", "regulation"),
        E("全球价值链", "global value chains"),
        E("监管影响分析", "regulatory impact analysis", "RIA"),
        E("区域贸易协定", "", "RTA"),
        E("相互认可", "mutual recognition"),
        E("互认", "mutual recognition"),
        E("诸边", "plurilateralism"),
        E("国际监管合作", "international regulatory cooperation"),
        E("监管合作", "regulatory cooperation"),
    )
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What are behind-the-border measures?", ["边境后措施"]),  # longest match: not 边境措施 too
        ("what is a behind the border measure", ["边境后措施"]),  # space vs hyphen, singular
        ("BEHIND-THE-BORDER MEASURES and border measures", ["边境后措施", "边境措施"]),
        ("How does Regulatory Divergence raise costs?", ["监管分化"]),
        ("global value chain", ["全球价值链"]),
        ("Explain RIA in the CPTPP", ["监管影响分析"]),
        ("What do RTAs cover?", ["区域贸易协定"]),  # plural abbreviation
        ("what is ria?", []),  # abbreviations are case-sensitive
        ("the CRIA report", []),  # ... and whole tokens
        ("mutual recognition of standards", ["互认", "相互认可"]),  # every zh for one English term
        ("international regulatory cooperation", ["国际监管合作"]),
        ("regulatory cooperation and regulation", ["监管合作", "监管"]),
        ("plurilateral deals", []),  # no stemming beyond plural
        ("这是什么", []),
    ],
)
def test_expand_english(question: str, expected: list[str]) -> None:
    assert [e.zh for e in SMALL.expand_english(question)] == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("什么是边境后措施？", ["边境后措施"]),  # not also 边境措施 (no overlap)
        ("国际监管合作与监管分化有何关系", ["国际监管合作", "监管分化"]),
        ("监管合作", ["监管合作"]),
        ("诸边协定和相互认可", ["诸边", "相互认可"]),
        ("What is negative integration", []),
    ],
)
def test_gloss_chinese(question: str, expected: list[str]) -> None:
    assert [e.zh for e in SMALL.gloss_chinese(question)] == expected


# --- the user file -------------------------------------------------------------------------------

UNITS = [
    para("多哈回合谈判陷入僵局，协商一致决策方式导致效率低下。", "u:p1"),
    para("根据WTO秘书处统计，自由贸易协定数量（FTA）增长迅速。", "u:p2"),
    para("即监管分化（regulatory divergence），导致重复检测。", "u:p3"),
]


def test_user_file_extends_and_overrides(tmp_path: Path) -> None:
    user = tmp_path / "glossary.tsv"
    user.write_text(
        "# comment\n\n多哈回合\tDoha Round\n"
        "自由贸易协定\tfree trade agreement\tFTA\n监管分化\tregulatory  divergence\n",
        encoding="utf-8",
    )
    mined = Glossary.mine(UNITS)
    assert ("自由贸易协定数量", "", "FTA") in triples(mined)  # the suffix rule cannot do better here
    glossary = Glossary.load(UNITS, user)
    by_zh = {e.zh: e for e in glossary.entries}
    assert set(by_zh) == {"多哈回合", "自由贸易协定", "监管分化"}  # the wrong FTA pair is replaced
    assert by_zh["多哈回合"] == E("多哈回合", "Doha Round", "", ("u:p1",), "user")
    assert by_zh["自由贸易协定"].refs == ("u:p2",)
    assert by_zh["监管分化"].source == "user"
    assert by_zh["监管分化"].en == "regulatory divergence"


def test_missing_user_file_gives_mined(tmp_path: Path) -> None:
    assert Glossary.load(UNITS, tmp_path / "nope.tsv") == Glossary.mine(UNITS)
    assert Glossary.load(UNITS, None) == Glossary.mine(UNITS)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("多哈回合", "expected zh<TAB>en"),
        ("多哈回合\tDoha Round\tDR\textra", "expected zh<TAB>en"),
        ("Doha Round\t多哈回合", "must be a Chinese term"),
        ("多哈回合\t多哈", "must be an English term"),
        ("多哈回合\t", "must be an English term"),
        ("多哈回合\tDoha Round\tdoha", "abbreviation"),
    ],
)
def test_malformed_user_line(tmp_path: Path, line: str, problem: str) -> None:
    user = tmp_path / "g.tsv"
    user.write_text(f"# header\n协商一致\tconsensus\n{line}\n", encoding="utf-8")
    with pytest.raises(GlossaryError) as err:
        Glossary.load(UNITS, user)
    message = str(err.value)
    assert message.startswith(f"{user}:3: ") and problem in message and "\n" not in message


def test_shipped_user_file_terms_occur_in_corpus(corpus_units: list[Paragraph]) -> None:
    units = corpus_units
    glossary = Glossary.load(units, CORPUS / "glossary.tsv")
    user = [e for e in glossary.entries if e.source == "user"]
    assert 20 <= len(user) <= 40
    assert [e.zh for e in user if not e.refs] == []


def test_format_table_aligns_columns() -> None:
    table = format_table(SMALL).splitlines()
    assert table[0].split() == ["中文", "English", "abbr", "refs"]
    assert table[-1] == f"{len(SMALL.entries)} entries"
    # The English column starts at the same terminal column on every row, whatever the zh width.
    from assistant.text import display_width

    rows = zip(table[2:-1], SMALL.entries, strict=True)
    starts = {display_width(row[: row.index(e.en)]) for row, e in rows if e.en}
    assert len(starts) == 1


# --- the real corpus -----------------------------------------------------------------------------

# Characters that never open a Chinese term. 等 is left out on purpose: 等效性 is a term.
NEVER_FIRST = set(FUNCTION_CHARS) - {"等"}


def test_real_corpus_glossary(corpus_units: list[Paragraph]) -> None:
    units = corpus_units
    glossary = Glossary.mine(units)
    refs = {(e.zh, e.en, e.abbr): e.refs for e in glossary.entries}
    expected = {
        ("负向一体化", "negative integration", ""): "xu-geng-2021:p13",
        ("正向一体化", "positive integration", ""): "xu-geng-2021:p14",
        ("监管分化", "regulatory divergence", ""): "xu-geng-2021:p1",
        ("边境后措施", "behind-the-border measures", ""): "xu-geng-2021:p1",
        ("全球价值链", "global value chains", ""): "xu-geng-2021:p1",
        ("监管影响分析", "regulatory impact analysis", "RIA"): "xu-geng-2021:p10",
        ("贸易便利化协定", "", "TFA"): "li-2023:p3",
        ("美国国际贸易委员会", "", "USITC"): "yang-nd:p6",
        ("开放式诸边协议", "Open Plurilateral Agreement", "OPA"): "xu-geng-2021:p39",
        ("关键多数", "critical mass", ""): "li-2023:p18",
    }
    for triple, ref in expected.items():
        assert triple in refs, triple
        assert ref in refs[triple]
    assert refs[("全面与进步跨太平洋伙伴关系协定", "", "CPTPP")] == ("li-2023:p3", "xu-geng-2021:p1")
    assert len(glossary.entries) >= 60
    assert "边境后措施" in [e.zh for e in glossary.expand_english("What are behind the border measures?")]
    assert [e.en for e in glossary.gloss_chinese("负向一体化与正向一体化的区别")] == [
        "negative integration",
        "positive integration",
    ]
    text = "\n".join(p.text for p in units)
    for e in glossary.entries:
        # A title is taken whole, whatever its first character (《与贸易有关的知识产权协定》).
        assert e.zh[0] not in NEVER_FIRST or f"《{e.zh}》" in text, e
        assert 2 <= len(e.zh) <= 16, e
        assert e.refs == tuple(sorted(set(e.refs), key=e.refs.index)) and e.refs, e
        assert not any(ch.isdigit() for ch in e.en), e  # no years or page numbers slipped through
