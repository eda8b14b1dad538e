"""Tests for assistant.text, .pdfclean and .linewidth: language, sentences, tokens, PDF-repair primitives."""

# Real lines copied from the seed papers are wider than the line limit; keeping them verbatim matters.
# ruff: noqa: E501

from __future__ import annotations

import pytest

from assistant.ingest.linewidth import LineWidthModel
from assistant.ingest.pdfclean import clean_line, join_lines, remove_wide_spaces, repair_letter_spacing
from assistant.text import compact, detect_lang, display_width, split_sentences, tokenize


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("什么是负向一体化？", "zh"),
        ("What does negative integration mean?", "en"),
        ("What does 负向一体化 mean?", "en"),
        ("WTO的TBT协定是什么", "zh"),
        ("USMCA第28章讲了什么？", "zh"),
        ("Привет, как дела?", None),
        ("مرحبا بالعالم", None),
        ("🙂🙂🙂", None),
        ("1234 5678", None),
        ("", None),
    ],
)
def test_detect_lang(text: str, lang: str | None) -> None:
    assert detect_lang(text) == lang


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第一句。第二句！第三句？", ["第一句。", "第二句！", "第三句？"]),
        ("他说：“好。”然后走了。", ["他说：“好。”", "然后走了。"]),
        ("甲；乙。", ["甲；", "乙。"]),
        ("这是谈判的常态[13]。下一句。", ["这是谈判的常态[13]。", "下一句。"]),
        ("允许更高的标准。①国际标准化对贸易", ["允许更高的标准。①", "国际标准化对贸易"]),
        ("We met the U.S. team. It went well.", ["We met the U.S. team.", "It went well."]),
        ("See e.g. the report. Then stop.", ["See e.g. the report.", "Then stop."]),
        (
            "Growth was 3.5 percent in No. 5 case. Next one.",
            ["Growth was 3.5 percent in No. 5 case.", "Next one."],
        ),
        ("As shown [12]. Next.", ["As shown [12].", "Next."]),
        (
            "Lawrence (Robert Z. Lawrence) wrote it. Fine!",
            ["Lawrence (Robert Z. Lawrence) wrote it.", "Fine!"],
        ),
        ("没有句末标点", ["没有句末标点"]),
        ("  ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert _sentences(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "早期的经贸谈判更多关注各国的边境措施（border measures）。经过多年的国际谈判，传统的贸易障碍逐渐淡化。",
        "A number of economists argue that barriers prevent U.S. trade in services. The United States continues.",
        "  前面有空格。  Mixed English sentence here.  后面也有。 ",
        "“阴影下的投票”⑥。形成[1]，结果[2]。",
    ],
)
def test_split_sentences_cover_every_character_once(text: str) -> None:
    spans = split_sentences(text)
    covered = [False] * len(text)
    for a, b in spans:
        assert text[a:b] == text[a:b].strip() and a < b
        for i in range(a, b):
            assert not covered[i]
            covered[i] = True
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))


def test_reference_marker_never_starts_a_sentence() -> None:
    text = "年均合规成本降低15%[5]，显著高于传统手段。贸易增量收益[5]。下一句"
    assert not any(s.startswith("[") for s in _sentences(text))


@pytest.mark.parametrize(
    ("text", "must_have"),
    [
        ("负向一体化（negative integration）", {"negative", "integration"}),
        ("WTO多边贸易谈判", {"wto", "贸易", "谈判"}),
        ("2021年第5期，No.5", {"2021", "5", "no.5"}),
    ],
)
def test_tokenize(text: str, must_have: set[str]) -> None:
    toks = tokenize(text)
    assert must_have <= set(toks)
    assert all(t.strip() and t == t.lower() for t in toks)
    assert not {"，", "（", "）", " "} & set(toks)


def test_tokenize_is_deterministic() -> None:
    text = "以各国国内规制为主要内容的边境后措施开始替代关税"
    assert tokenize(text) == tokenize(text)


def test_compact_and_width() -> None:
    assert compact(" 监管 分化\n（regulatory divergence） ") == "监管分化（regulatorydivergence）"
    assert display_width("中文ab") == 6


# --- PDF noise: real lines from the three seed papers -------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # xu-geng-2021: every character spaced out by justification
        (
            "税 减 让 和 扩 大 市 场 准 入 。 经 过 多 年 的 国 际 谈 判 和 多 边 贸 易 体 制 的 发 展 ， 传 统 的 贸 易",
            "税减让和扩大市场准入。经过多年的国际谈判和多边贸易体制的发展，传统的贸易",
        ),
        (
            "相 互 认 可 协 议 （ m u t u a l  r e c o g n i t i o n  a g r e e m e n t ） 指 两 个",
            "相互认可协议（mutual recognition agreement）指两个",
        ),
        ("G e r a a t s （ 2 0 0 2 ） 则 将 透 明 度", "Geraats（2002）则将透明度"),
        (
            "与 利 益 集 团 理 论 紧 密 联 系 的 是 詹 姆 斯 · 布 坎 南 （ J a m e s  M .  B u c h a n a n ） 提 出 的",
            "与利益集团理论紧密联系的是詹姆斯·布坎南（James M. Buchanan）提出的",
        ),
        # yang: typesetting spaces around Latin and digits inside Chinese
        ("元，其中 86.3%源自美欧主导的“动态适应性标准”", "元，其中86.3%源自美欧主导的“动态适应性标准”"),
        (
            "导制定的 4项区块链国际标准已被多国采纳，其中 ISO",
            "导制定的4项区块链国际标准已被多国采纳，其中ISO",
        ),
        ("李 科", "李科"),
    ],
)
def test_clean_line_cjk_spacing(raw: str, clean: str) -> None:
    assert clean_line(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("的全球价值链（the global  va lue  chains）", "的全球价值链（the global value chains）"),
        ("以各国国内规制（domes t ic ", "以各国国内规制（domestic"),
        ("regulat ions）为主要内容", "regulations）为主要内容"),
        (
            "美国国会研究服务局（Congress ional  Research Service）2020年",
            "美国国会研究服务局（Congressional Research Service）2020年",
        ),
        ("负向一体化（negative integrat ion）简单来说", "负向一体化（negative integration）简单来说"),
        ("（The Trans-Tasman  Mutua l  Recogni t ion ", "（The Trans-Tasman Mutual Recognition"),
        ("“正向一体化”（pos i t i ve  i n t eg ra t i on）。", "“正向一体化”（positive integration）。"),
        ("“浅层一体化”（shal low in tegra t ion）意味着", "“浅层一体化”（shallow integration）意味着"),
        ("（regulatory interoperabil i ty）。②", "（regulatory interoperability）。②"),
        ("Col l ins-Wil l iams和Wolfe（2010）", "Collins-Williams和Wolfe（2010）"),
        # real word gaps are never glued
        ("in the global market and the main rules", "in the global market and the main rules"),
        ("prevent U.S. trade in services", "prevent U.S. trade in services"),
        ("法院在Sisvel v.海尔案中裁定", "法院在Sisvel v.海尔案中裁定"),
        ("（ex post evaluations）", "（ex post evaluations）"),
    ],
)
def test_clean_line_letter_spacing(raw: str, clean: str) -> None:
    assert clean_line(raw) == clean


def test_document_vocabulary_lets_unknown_words_join() -> None:
    vocab = frozenset({"zorbulation"})
    assert repair_letter_spacing("the zorbu l ation rule", vocab) == "the zorbulation rule"


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("prevent U.S. trade in services", "from expanding", "prevent U.S. trade in services from expanding"),
        ("致力于推动关", "税减让", "致力于推动关税减让"),
        ("（should", "encourage）", "（should encourage）"),
        ("比如澳大利亚与新西兰于1983", "年签署的", "比如澳大利亚与新西兰于1983年签署的"),
        ("其中ISO", "22739标准", "其中ISO 22739标准"),
    ],
)
def test_join_lines(left: str, right: str, joined: str) -> None:
    assert join_lines(left, right) == joined


def test_remove_wide_spaces_keeps_english_gaps() -> None:
    assert remove_wide_spaces("WTO 争端 解决 and the rules") == "WTO争端解决and the rules"


def test_line_width_model_learns_full_measure() -> None:
    lines = ["甲" * 36 + "，", "乙" * 35 + "WTO", "丙" * 30 + "“" * 2 + "丁" * 5] * 3
    model = LineWidthModel.fit(lines)
    assert abs(model.full - 37) < 1.0
    assert model.width("甲" * 10) == pytest.approx(10)


def test_jieba_keeps_its_cache_in_the_users_own_folder(tmp_path, monkeypatch) -> None:
    """Not in the shared temp folder, where another user could plant a cache file."""
    import subprocess
    import sys

    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    code = "from assistant.text import tokenize, _jieba; tokenize('负向一体化'); print(_jieba().dt.tmp_dir)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    folder = tmp_path / "cache" / "jieba"
    assert out.strip() == str(folder)
    assert (folder / "jieba.cache").is_file() and (folder.stat().st_mode & 0o077) == 0
