"""Property-based checks: the cleaner, sentence splitter and quote picker never crash on arbitrary
Unicode, and every quote they produce is an exact slice of its paragraph."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.answer.compose import pick_quote, quote_is_verified
from assistant.ingest.chunking import chunk_paragraphs
from assistant.ingest.corpus import clean_document
from assistant.records import DocumentMeta, Hit, Paragraph
from assistant.text import compact, split_sentences

# Mix CJK, Latin, digits, punctuation of both scripts, whitespace and control characters.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF),
        st.sampled_from(list("。，；！？（）《》“”①②[]1234567890 \n\t.,;!?()abcXYZ-")),
        st.characters(blacklist_categories=("Cs",)),  # corpus text is decoded UTF-8: no lone surrogates
    ),
    max_size=400,
)
META = DocumentMeta("prop-2020", "性质测试")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_cleaner_never_crashes_and_refs_are_unique(raw: str) -> None:
    units = clean_document(raw, META)
    refs = [u.ref for u in units]
    assert len(refs) == len(set(refs))
    assert all(u.text.strip() for u in units)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_sentence_spans_cover_all_non_space_text(text: str) -> None:
    spans = split_sentences(text)
    assert compact("".join(text[s:e] for s, e in spans)) == compact(text)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(e1 <= s2 for (_, e1), (s2, _) in itertools.pairwise(spans))


@settings(max_examples=200, deadline=None)
@given(TEXT.filter(lambda t: t.strip()), st.text(max_size=80))
def test_quotes_are_always_slices_of_their_paragraph(text: str, question: str) -> None:
    para = Paragraph("prop-2020:p1", "prop-2020", "body", 1, (), text)
    chunks = chunk_paragraphs([para]) or (None,)  # windows and their single sentences
    for chunk in chunks:
        quote = pick_quote(Hit(1, para, 0.5, chunk), question)
        assert quote in text
        assert quote_is_verified(quote, text) or not compact(quote)
