"""Answer kinds: what a question asks for, whether a sentence states it, and how quotes and support use it."""

from __future__ import annotations

import pytest

from assistant.answer.answertype import asked_kinds, states
from assistant.answer.compose import pick_quote
from assistant.answer.evidence import evidence_support
from assistant.records import Chunk, Hit, Paragraph


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("多哈回合是哪一年启动的？", {"time"}),
        ("《贸易便利化协定》何时生效？", {"time"}),
        ("When did the Doha Round start?", {"time"}),
        ("When, and by which decision, was it dropped?", {"time"}),
        ("What year was the TBT Agreement signed?", {"time"}),
        ("WTO有多少个成员？", {"quantity"}),
        ("发展中国家的支出是发达国家的几倍？", {"quantity"}),
        ("How many members does the WTO have?", {"quantity"}),
        ("What share of standards is set by developed countries?", {"quantity"}),
        ("What tariff rate did the US impose?", {"quantity"}),
        ("What anti-dumping duty margins did the EU impose?", {"quantity"}),
        ("GATT中最重要的条款是哪一条？", {"article"}),
        ("Which provision of the SPS Agreement is cited?", {"article"}),
        ("坎昆会议是第几届部长级会议？", {"ordinal"}),
        ("WTO改革涉及哪几个方面？", set()),  # a list, not a number
        ("近几年诸边谈判有什么进展？", set()),
        ("CPTPP有多少个成员？英国是哪一年加入的？", {"quantity", "time"}),
        # open questions ask for no particular kind
        ("什么是负向一体化？", set()),
        ("What does negative integration mean?", set()),
        ("Why did the Doha Round stall?", set()),
        # "when" as a conjunction is not a time question
        ("When negotiations stall, what do members turn to?", set()),
    ],
)
def test_asked_kinds(question: str, kinds: set[str]) -> None:
    assert asked_kinds(question) == kinds


@pytest.mark.parametrize(
    ("kind", "sentence", "question", "expected"),
    [
        ("time", "中国于2001年10月成立了国家标准化管理委员会。", "", True),
        ("time", "协定于二〇一七年生效。", "", True),
        ("time", "The round was launched in November 2001.", "", True),
        ("time", "中国目前是ISO的常任理事国。", "", False),
        # a year the question already names does not answer it
        ("time", "2023年美方发起了调查。", "2023年的调查是哪一天开始的？", False),
        ("quantity", "成员方数量已经高达164个。", "", True),
        ("quantity", "涉华案件占比超六成。", "", True),
        ("quantity", "76%涉及标准必要专利。", "How many cases in 2023?", True),
        ("quantity", "2023年美方发起了调查。", "How many cases in 2023?", False),
        ("quantity", "各方不欢而散。", "", False),
        ("article", "GATT第3条国民待遇条款最为重要。", "", True),
        ("article", "依据SPS协议第5.6条。", "", True),
        ("article", "Article 3, Agreement on SPS.", "", True),
        ("article", "CPTPP鼓励缔约方建立监管协调机构。", "", False),
        ("ordinal", "WTO第十一届部长级会议发布了声明。", "", True),
        ("ordinal", "部长级会议发布了声明。", "", False),
    ],
)
def test_states(kind: str, sentence: str, question: str, expected: bool) -> None:
    assert states(kind, sentence, question) is expected  # type: ignore[arg-type]


def _hit(text: str) -> Hit:
    return Hit(1, Paragraph("d-2020:p1", "d-2020", "body", 1, ("一、节",), text), 0.5)


ON_TOPIC_NO_YEAR = (
    "中国重视参与国际标准的制定，目前是国际标准化组织（ISO）的常任理事国。国家标准化管理委员会成立。"
)
YEAR_ELSEWHERE = (
    "2001年成立了一个委员会，负责统一管理工作。另一方面，中国重视参与国际标准的制定，"
    "目前是国际标准化组织（ISO）的常任理事国。"
)
# the date's sentence leaves out its subject, which the sentence before names
ELIDED_SUBJECT = "《贸易便利化协定》主要内容是海关管理和贸易便利化。2013年12月完成谈判，于2017年2月22日生效。"
YEAR_ON_TOPIC = "中国于2001年10月成立了国家标准化管理委员会，负责统一管理全国标准化工作。另有其他安排。"


@pytest.mark.parametrize(
    ("text", "question", "low", "high"),
    [
        (ON_TOPIC_NO_YEAR, "什么是国际标准化组织？", 1.0, 1.0),  # open question: no check
        (ON_TOPIC_NO_YEAR, "中国是哪一年成为ISO常任理事国的？", 0.0, 0.0),
        (YEAR_ELSEWHERE, "中国是哪一年成为国际标准化组织（ISO）常任理事国的？", 0.01, 0.5),
        (YEAR_ON_TOPIC, "中国哪一年成立了国家标准化管理委员会？", 1.0, 1.0),
        (ELIDED_SUBJECT, "《贸易便利化协定》何时生效？", 1.0, 1.0),
    ],
)
def test_evidence_support(text: str, question: str, low: float, high: float) -> None:
    assert low <= evidence_support(_hit(text), question) <= high


def test_quote_for_a_time_question_is_the_sentence_with_the_date() -> None:
    text = "国家标准化管理委员会负责统一管理全国标准化工作。该委员会于2001年10月成立。其他内容。"
    quote = pick_quote(_hit(text), "国家标准化管理委员会是什么时候成立的？")
    assert "2001年10月" in quote


def test_quote_with_an_elided_subject_starts_at_the_sentence_naming_it() -> None:
    quote = pick_quote(_hit(ELIDED_SUBJECT), "《贸易便利化协定》何时生效？")
    assert quote.startswith("《贸易便利化协定》") and "2017年2月22日生效" in quote


def test_glossary_terms_let_an_english_question_find_its_typed_sentence() -> None:
    text = "各方讨论了很多问题。国家标准化管理委员会于2001年10月成立。WTO成立于1995年。"
    question = "When was the Standardization Administration set up?"
    assert "2001" in pick_quote(_hit(text), question, ["国家标准化管理委员会"])


OPEN = "监管合作的目标是降低成本。各国应当协调标准。这一点很重要。互认安排减少重复检测，节约企业的合规费用。"


@pytest.mark.parametrize(
    ("slice_text", "expected"),
    [
        # a sentence slice is quoted alone when it stands alone ...
        ("互认安排减少重复检测，节约企业的合规费用。", "互认安排减少重复检测，节约企业的合规费用。"),
        # ... and a short one is extended by the paragraph's next sentence, which lies outside the slice
        ("各国应当协调标准。", "各国应当协调标准。这一点很重要。"),
        # a window quotes its sentence that shares most words with the question
        ("监管合作的目标是降低成本。各国应当协调标准。", "各国应当协调标准。这一点很重要。"),
    ],
)
def test_an_open_question_is_quoted_from_its_best_slice(slice_text: str, expected: str) -> None:
    start = OPEN.index(slice_text)
    one = slice_text.count("。") == 1
    chunk = Chunk("c", "d-2020:p1", "d-2020", start, start + len(slice_text), slice_text, sentence=one)
    hit = Hit(1, Paragraph("d-2020:p1", "d-2020", "body", 1, ("一、节",), OPEN), 0.5, chunk)
    assert pick_quote(hit, "各国如何协调标准？") == expected
