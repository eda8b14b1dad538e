"""Glossary quality (issue #15): advice is not a term, acronyms get their stated English, the legend."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.acronyms import acronym_expansions, long_form
from assistant.ingest.corpus import load_corpus
from assistant.ingest.gloss_parse import is_predicate
from assistant.ingest.glossary import Glossary, GlossaryEntry, _words, format_table, glossary_notes
from assistant.records import Paragraph

CORPUS = Path(__file__).parent.parent / "corpus"


@pytest.fixture(scope="module")
def corpus_units() -> list[Paragraph]:
    return [p for d in load_corpus(CORPUS) for p in d.paragraphs]


def para(text: str, ref: str = "t:p1") -> Paragraph:
    return Paragraph(ref, ref.split(":")[0], "body", 1, (), text)


# --- advice is not a term -------------------------------------------------------------------------

# Real pairs from `assistant glossary` over the seed corpus (the first three from xu-geng-2021:p36,
# where the paper lists what China 可考虑/宜鼓励), plus guards that open with the same characters.
MINED_PAIRS = [
    ("可考虑", "may take into consideration", True),
    ("宜考虑", "should consider", True),
    ("宜鼓励", "should encourage", True),
    ("可能的方式", "potential steps", False),
    ("关键多数", "critical mass", False),
    ("协调", "harmonization", False),
    ("志同道合者", "Like-minded", False),
    ("事后评价机制", "ex post evaluations", False),
    ("边境措施", "border measures", False),
    ("影响评估机制", "impact assessment", False),
    ("开放式诸边协议", "Open Plurilateral Agreement", False),
    ("美国国际贸易委员会", "", False),
    ("可持续发展", "sustainable development", False),  # 可|持续|发展: 可 opens terms too
    ("应对措施", "response measures", False),  # 应对 is one word, not 应 + verb
    ("需求", "demand", False),
    ("必载规则", "must-carry rules", False),  # a hyphenated compound, not the modal
    ("应考虑", "", True),  # Chinese side alone: 应 + 考虑
]


@pytest.mark.parametrize(("zh", "en", "advice"), MINED_PAIRS)
def test_pairs_that_gloss_advice_are_not_terms(zh: str, en: str, advice: bool) -> None:
    assert is_predicate(_words(zh), en) is advice


def test_real_corpus_glossary_drops_advice_and_keeps_terms(corpus_units: list[Paragraph]) -> None:
    pairs = {(e.zh, e.en) for e in Glossary.mine(corpus_units).entries}
    for zh, en, advice in MINED_PAIRS[:11]:
        assert ((zh, en) in pairs) is not advice, (zh, en)


# --- acronyms get the English the corpus states -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the Agreement on Technical Barriers to Trade (TBT)", {"TBT": "Technical Barriers to Trade"}),
        ("members of the World Trade Organization (WTO) agreed", {"WTO": "World Trade Organization"}),
        ("The WTO (World Trade Organization) was founded", {"WTO": "World Trade Organization"}),
        (
            "the General Agreement on Tariffs and Trade (GATT)",
            {"GATT": "General Agreement on Tariffs and Trade"},
        ),
        (
            "under Stabilization and Association Agreements (SAAs)",
            {"SAAs": "Stabilization and Association Agreements"},
        ),
        ("most-favoured-nation (MFN) treatment", {"MFN": "most-favoured-nation"}),
        ("as the report says (WTO)", {}),  # the letters are not there in order
        ("see the notes (USTR)", {}),
        ("The WTO (see below) was founded", {}),  # a remark, not the expansion
    ],
)
def test_expansions_stated_in_english(text: str, expected: dict[str, str]) -> None:
    assert {k: v[0] for k, v in acronym_expansions([para(text)]).items()} == expected


def test_long_form_is_the_shortest_tail_that_spells_it() -> None:
    assert long_form("TBT", "the Agreement on Technical Barriers to Trade") == "Technical Barriers to Trade"
    assert long_form("IA", "this sentence has lots of words before impact assessment") == "impact assessment"
    assert long_form("WTO", "nothing matches") == ""


def test_abbreviation_entry_gets_the_stated_expansion() -> None:
    units = [
        para("世界贸易组织（WTO）的技术性贸易壁垒（TBT）规则。", "zh:p1"),
        para("Members of the World Trade Organization (WTO) notify measures.", "en:p4"),
    ]
    entries = {e.abbr: e for e in Glossary.mine(units).entries}
    assert entries["WTO"].en == "World Trade Organization"
    assert entries["WTO"].refs == ("en:p4", "zh:p1")
    assert entries["TBT"].en == ""  # no text spells it out: nothing is guessed
    assert [
        e.zh for e in Glossary(tuple(entries.values())).expand_english("the World Trade Organization")
    ] == ["世界贸易组织"]


def test_seed_corpus_states_no_latin_expansion(corpus_units: list[Paragraph]) -> None:
    # The seed papers gloss abbreviations in Chinese only; their English comes from the user file.
    assert acronym_expansions(corpus_units) == {}


# --- the table and its legend -----------------------------------------------------------------------


@pytest.mark.parametrize(("n", "last"), [(0, "0 entries"), (1, "1 entry"), (2, "2 entries")])
def test_count_line_is_singular_for_one(n: int, last: str) -> None:
    entries = [
        GlossaryEntry("监管分化", "regulatory divergence"),
        GlossaryEntry("边境措施", "border measures"),
    ]
    assert format_table(Glossary(tuple(entries[:n]))).splitlines()[-1] == last


def test_notes_explain_user_rows_two_names_and_bare_abbreviations(corpus_units: list[Paragraph]) -> None:
    notes = glossary_notes(Glossary.load(corpus_units, CORPUS / "glossary.tsv"))
    assert notes[0].startswith("(user): your own line in corpus/glossary.tsv")
    iso = "ISO: 2 Chinese names in the papers, all kept: "
    assert iso + "国家标准化组织 (xu-geng-2021:p44), 国际标准化组织 (yang-nd:p15)" in notes
    assert any(n.startswith("USMCA: 2 Chinese names") and "美墨加三国协议 (li-2023:p3)" in n for n in notes)
    assert notes[-1].startswith("31 abbreviations without English (-)")
    assert all("\n" not in n for n in notes)


def test_no_notes_for_a_plain_mined_glossary() -> None:
    assert glossary_notes(Glossary((GlossaryEntry("监管分化", "regulatory divergence"),))) == []
    single = glossary_notes(Glossary((GlossaryEntry("世界贸易组织", "", "WTO"),)))
    assert single == [
        "1 abbreviation without English (-): the corpus never spells it out; "
        "add zh<TAB>English<TAB>ABBR lines to corpus/glossary.tsv"
    ]
