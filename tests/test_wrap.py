"""Text that fits the terminal: wrapping by display width with Chinese line-break rules.

Every case checks the same things: each line fits in the width (in terminal cells), no line
starts with closing or ends with opening punctuation, no run of digits or Latin letters is split,
and nothing but the spaces at the breaks is lost.
"""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from conftest import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from assistant.apps.wrap import CLOSING, OPENING, fit, output_width, wrap_line, wrap_text
from assistant.apps.wrap_rich import PaneText, Wrapped, wrap_rich

# Real sentences of the bundled corpus (li-2023:p8, li-2023:p14, yang-nd:p1, xu-geng-2021:p15,
# xu-geng-2021:abstract, xu-geng-2021:p13) and lines as `ask` prints them.
SENTENCES = [
    "目前，WTO相比GATT时期成员方数量已经高达164个，随着越来越多的成员方加入，WTO以及谈判内容越来越涉及各国利益底线，协商难度有增无减。",
    "表面上WTO164个成员方众口难调，导致谈判结果难以满足成员方的期待；根本症结在于，随着国际产业链的分工带来政治经济力量的重新洗牌。",
    "WTO争端解决数据库显示，2022年我国企业因技术性贸易壁垒导致的直接损失达532.7亿美元，其中86.3%源自美欧主导的“动态适应性标准”[1]。",
    "《TBT协议》第2条第1款、《服务贸易总协定》（GATS）第17条以及《与贸易有关的知识产权协定》（TRIPS协定）第3条也均有国民待遇义务的规制体现。",
    "当前边境后措施国际监管合作经历了从“负向一体化”到“正向一体化”，从“浅层一体化”到“深层一体化”的发展过程，从多边层面到区域层面的趋势变迁。",
    "负向一体化（negative integration）简单来说意味着消除国家间限制商品、服务和生产要素流动的壁垒；《单一欧洲法》（the Single European Act）所做的承诺。",  # noqa: E501
    "  [1] xu-geng-2021:p13  《边境后措施国际监管合作发展趋向与问题阐释》 二、边境后措施国际监管合作的发展趋势 （一）从“负向一体化”到“正向一体化” 1. 负向一体化  (score 0.470)",  # noqa: E501
    "  2. xu-geng-2021:p14       0.794  随着贸易谈判的内容由边境措施延伸至边境后措施，谈判开始更多涉及国内政策的协调与融合，要求从更多维度…",  # noqa: E501
    "Negative integration removes the barriers between states (the Single European Act of 1986 made 86.3% of it binding), while positive integration builds shared rules.",  # noqa: E501
]
WIDTHS = [40, 80, 120]
RUN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.%:_/-]*[0-9A-Za-z%]|[0-9A-Za-z]")


def assert_well_wrapped(lines: list[str], original: str, width: int, runs: bool = True) -> None:
    """The shared checks: fits, punctuation rules, runs whole, nothing but break spaces lost."""
    for line in lines:
        assert cell_len(line) <= width, (width, line)
    for line in lines[1:]:
        assert line.strip()[:1] not in CLOSING, line
    for line in lines[:-1]:
        assert line.rstrip()[-1:] not in OPENING, line
    assert "".join("".join(lines).split()) == "".join(original.split())
    if runs:  # every Latin/number run of the original is on one line
        for word in RUN.findall(original):
            if cell_len(word) <= width // 2:
                assert any(word in line for line in lines), (word, lines)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("sentence", SENTENCES, ids=lambda s: s[:12])
def test_corpus_sentences_wrap_by_the_rules(sentence: str, width: int) -> None:
    assert_well_wrapped(wrap_line(sentence, width), sentence, width)


@pytest.mark.parametrize(
    ("text", "width", "kept"),
    [
        (SENTENCES[0], 40, "164个"),  # 高达16 / 4个 before
        (SENTENCES[2], 40, "86.3%"),  # 86. / 3% before
        (SENTENCES[2], 80, "532.7"),
        (SENTENCES[3], 40, "（GATS）"),
        (SENTENCES[6], 80, "(score"),  # (sc / ore 0.470) before
        (SENTENCES[5], 40, "（negative"),  # （T / he before: never after an opening bracket
    ],
)
def test_numbers_words_and_brackets_stay_whole(text: str, width: int, kept: str) -> None:
    lines = wrap_line(text, width)
    assert len(lines) > 1 and any(kept in line for line in lines), lines


@pytest.mark.parametrize(
    ("line", "indent"),
    [(SENTENCES[6], "      "), (SENTENCES[7], "     "), ("    " + SENTENCES[0], "    ")],
)
def test_continuation_lines_keep_the_indent(line: str, indent: str) -> None:
    """A hanging indent: under the text after ``  [1] `` or ``  2. ``, or the paragraph's indent."""
    lines = wrap_line(line, 40)
    assert len(lines) > 2
    assert all(c.startswith(indent) and not c[len(indent)].isspace() for c in lines[1:]), lines


def test_a_token_longer_than_the_line_is_cut_as_a_last_resort() -> None:
    url = "https://example.org/" + "a" * 60
    lines = wrap_line("见 " + url, 30)
    assert all(cell_len(line) <= 30 for line in lines) and "".join(lines[1:]) == url


CJK = st.sampled_from("负向一体化监管合作的贸易协定国际")
OPEN = st.sampled_from("（「『【〈《“‘")
CLOSE = st.sampled_from("，。、；：？！）」』】〉》”’…％")
LATIN = st.from_regex(r"[A-Za-z]{1,12}|[0-9]{1,4}(\.[0-9]{1,2})?%?", fullmatch=True)
# Pieces whose unbreakable units stay short, so the rules never have to give way
PIECE = st.one_of(
    CJK, CJK, st.tuples(OPEN, CJK).map("".join), st.tuples(CJK, CLOSE).map("".join), LATIN.map(" {} ".format)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECE, min_size=1, max_size=80).map("".join), st.integers(min_value=16, max_value=120))
def test_any_mix_of_chinese_latin_and_numbers(text: str, width: int) -> None:
    text = text.strip()
    lines = wrap_line(text, width)
    assert_well_wrapped(lines, text, width)


def test_no_width_leaves_the_text_alone() -> None:
    text = "\n".join(SENTENCES)
    assert wrap_text(text, None) == text


def test_output_width_follows_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert output_width() == 80
    assert all(cell_len(line) <= 80 for line in fit(SENTENCES[0] * 3).split("\n"))


# ---------------------------------------------------------------- the commands, end to end


def _printed_lines_obey(out: str, width: int) -> None:
    for line in out.split("\n"):
        assert cell_len(line) <= width, line
    lines = out.split("\n")
    for a, b in pairwise(lines):
        if a.strip() and b.strip():
            assert b.strip()[:1] not in CLOSING and a.rstrip()[-1:] not in OPENING, (a, b)


@pytest.mark.parametrize("width", [40, 80])
def test_ask_and_show_fit_the_terminal(corpus, capsys, monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    assert run_cli(["index"], corpus, capsys)[0] == 0
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, _ = run_cli(["ask", "--no-server", "什么是负向一体化？"], corpus, capsys)
    assert code == 0 and max(cell_len(line) for line in out.split("\n")) > width - 12  # filled, not padded
    _printed_lines_obey(out, width)
    ref = re.search(r"demo-2020:p\d+", out).group(0)  # type: ignore[union-attr]
    code, out, _ = run_cli(["show", ref], corpus, capsys)
    assert code == 0 and ref in out
    _printed_lines_obey(out, width)
    code, out, _ = run_cli(["glossary"], corpus, capsys)
    assert code == 0
    _printed_lines_obey(out, width)


def test_json_and_pipes_are_never_wrapped(corpus, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(["index"], corpus, capsys)[0] == 0
    monkeypatch.delenv("COLUMNS", raising=False)
    _, piped, _ = run_cli(["ask", "--no-server", "什么是负向一体化？"], corpus, capsys)
    assert max(cell_len(line) for line in piped.split("\n")) > 120  # one logical line per record
    monkeypatch.setenv("COLUMNS", "40")
    _, out, _ = run_cli(["ask", "--no-server", "--json", "什么是负向一体化？"], corpus, capsys)
    assert max(cell_len(line) for line in out.split("\n")) > 40  # JSON as it was


# ---------------------------------------------------------------- rich text: the TUI's panes


@pytest.mark.parametrize("width", WIDTHS)
def test_styled_text_wraps_by_the_same_rules(width: int) -> None:
    text = Text("\n".join(SENTENCES))
    text.stylize("bold", 10, 40)
    lines = wrap_rich(text, width)
    assert [line.plain for line in lines] == [
        wrapped for sentence in SENTENCES for wrapped in wrap_line(sentence, width)
    ]
    assert any(span.style == "bold" for line in lines for span in line.spans)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_pane_text_renders_within_its_width(width: int) -> None:
    """What Textual draws for a :class:`PaneText` (``visualize``): rich output at the pane's width."""
    pane = PaneText.of(Text("\n".join(SENTENCES), style="italic"))
    assert isinstance(pane, Text) and pane.plain == "\n".join(SENTENCES)
    drawn = pane.visualize()
    assert isinstance(drawn, Wrapped)
    console = Console(width=width, record=True, color_system=None)
    with console.capture() as capture:
        console.print(drawn)
    lines = capture.get().rstrip("\n").split("\n")
    assert_well_wrapped(lines, "\n".join(SENTENCES), width, runs=False)
