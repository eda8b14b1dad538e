"""Extractive answer composition: choose quotes inside the best paragraphs, verify, cite, or abstain.

Nothing here generates text beyond fixed framing: every quoted sentence is a
slice of its paragraph and is checked again before it is emitted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.answertype import asked_kinds, states
from assistant.answer.evidence import question_features, span_overlaps, with_previous
from assistant.records import Answer, Citation, DocumentMeta, Hit, Lang, Paragraph
from assistant.text import CJK_IDEO, compact, split_sentences

MAX_CITATIONS = 3
# A second or third paragraph is cited only when it scores nearly as well as the first.
CITE_MARGIN = 0.04
SHORT_SENTENCE = 24
_CJK = re.compile(f"[{CJK_IDEO}]")


def quote_is_verified(quote: str, paragraph_text: str) -> bool:
    """True if ``quote`` occurs in the paragraph (whitespace-insensitive) and is not empty."""
    q = compact(quote)
    return bool(q) and q in compact(paragraph_text)


def pick_quote(hit: Hit, question: str, terms: Sequence[str] = ()) -> str:
    """The sentence(s) of the hit's paragraph that best carry the answer.

    Candidates are the sentences of the best-matching slice (the dense signal: a window, or one
    sentence of it when that sentence alone matches the question better);
    among them the one sharing most words/bigrams with the question wins (the whole
    chunk when none shares any). When the
    question asks for a year, number or article, the sentence stating one that
    matches the question best wins instead, wherever it is in the paragraph, with the
    sentence before it when that one names the subject. A very short winner is
    extended by its neighbour so the quote stands alone.
    """
    text = hit.paragraph.text
    spans = split_sentences(text)
    if not spans:
        return text
    kinds = asked_kinds(question)
    typed = [sum(states(k, text[s:e], question) for k in kinds) for s, e in spans]
    chunk = hit.chunk
    if any(typed):
        cues = question_features(question, terms)
        alone, overlaps = with_previous(text, spans, cues)
        inside = [chunk is not None and s >= chunk.start and e <= chunk.end for s, e in spans]
        i = max(range(len(spans)), key=lambda j: (typed[j], overlaps[j], inside[j], -j))
        # quote the sentence before too when it is what ties the fact to the question
        first = i - 1 if overlaps[i] > alone[i] else i
    else:
        candidates = [
            j for j, (s, e) in enumerate(spans) if chunk is None or (s >= chunk.start and e <= chunk.end)
        ] or list(range(len(spans)))
        # Glossary terms are too loose to choose among sentences of the same passage for an
        # open question; without a direct overlap the whole best slice is quoted.
        overlaps = span_overlaps(text, [spans[j] for j in candidates], question_features(question))
        if max(overlaps) == 0:
            first, i = candidates[0], candidates[-1]
        else:
            i = candidates[max(range(len(candidates)), key=lambda k: (overlaps[k], -k))]
            first = i
    s, e = spans[first][0], spans[i][1]
    # the neighbour comes from the paragraph, not the slice: a one-sentence slice has none
    if e - s < SHORT_SENTENCE and i + 1 < len(spans):
        e = spans[i + 1][1]
    return text[s:e]


def cite_line(lang: Lang, meta: DocumentMeta | None, p: Paragraph) -> str:
    """Where a quote comes from: author (year) or title, section, ref.

    Headings start with their own number ("2 我国机制创新…", "1.1 …"), so the section is marked
    with "§" and the year always stands in parentheses, "n.d." when the paper states none: a bare
    "杨柳, 2 我国…" would read as a year.
    """
    section = f"§ {p.section[-1]}" if p.section else ""
    if lang == "zh":
        # The Chinese line names the paper by its title, which carries no year to confuse.
        title = f"《{meta.label}》" if meta else p.doc_id
        where = "，".join(x for x in (section, p.ref) if x)
        return f"{title}（{where}）"
    if meta is None:
        return ", ".join(x for x in (p.doc_id, section, p.ref) if x)
    who = ", ".join(meta.authors) or meta.label
    year = meta.year if meta.year else "n.d."
    return ", ".join(x for x in (f"{who} ({year})", section, p.ref) if x)


RENDERING_LABEL = {"zh": "机器译文", "en": "machine rendering"}


NOT_FOUND = {
    "zh": "语料库中没有找到能回答这个问题的段落。下面列出最接近的段落，供您自行判断。",
    "en": (
        "The corpus does not appear to answer this question. "
        "The closest passages are listed below for you to judge."
    ),
}


def quote_from_selection(hit: Hit, selection: Sequence[int]) -> str | None:
    """The quote a reader chose: its selected sentences of the hit's paragraph (1-based), as one
    contiguous slice when they lie within three sentences, else the first of them alone."""
    spans = split_sentences(hit.paragraph.text)
    chosen = sorted(n for n in selection if 1 <= n <= len(spans))
    if not chosen:
        return None
    last = chosen[-1] if chosen[-1] - chosen[0] <= 2 else chosen[0]
    return hit.paragraph.text[spans[chosen[0] - 1][0] : spans[last - 1][1]]


def answer_text(lang: Lang, citations: Sequence[Citation], documents: dict[str, DocumentMeta]) -> str:
    """The answer's text: each verified quote with its source line, and its machine rendering
    (labelled as such) when it has one."""
    lines = []
    for c in citations:
        source = cite_line(lang, documents.get(c.paragraph.doc_id), c.paragraph)
        line = f"据{source}：“{c.quote}”[{c.n}]" if lang == "zh" else f"From {source}: “{c.quote}” [{c.n}]"
        if c.rendering:
            line += f"\n    ({RENDERING_LABEL[lang]}) {c.rendering}"
        lines.append(line)
    head = (
        ""
        if lang == "zh"
        else "The corpus says (quoted in the original Chinese where the source is Chinese):\n"
    )
    if lang == "en" and all(not _CJK.search(c.quote) for c in citations):
        head = ""
    return head + "\n".join(lines)


def compose(
    question: str,
    lang: Lang,
    hits: Sequence[Hit],
    documents: dict[str, DocumentMeta],
    answerable: bool,
    terms: Sequence[str] = (),
    selection: Sequence[int] = (),
) -> Answer:
    """Build the answer: cite the best paragraph (and close runners-up) with verified quotes, or abstain.

    ``answerable`` is the abstention policy's verdict on these hits; ``terms`` are extra
    (glossary) terms that help match an English question to Chinese sentences; ``selection`` is
    the reader's choice of the best paragraph's sentences (1-based), quoted instead of the
    lexical choice when it verifies.
    """
    passages = tuple(hits)
    if not hits or not answerable:
        return Answer(question, lang, False, NOT_FOUND[lang], (), passages)
    citations: list[Citation] = []
    for hit in hits:
        if len(citations) >= MAX_CITATIONS or hit.score < hits[0].score - CITE_MARGIN:
            break
        chosen = quote_from_selection(hit, selection) if hit is hits[0] else None
        quote = chosen or pick_quote(hit, question, terms)
        if not quote_is_verified(quote, hit.paragraph.text):
            continue  # never emit a quote that is not in the paragraph
        meta = documents.get(hit.paragraph.doc_id)
        citations.append(
            Citation(len(citations) + 1, hit.paragraph, meta.label if meta else "", quote, hit.score)
        )
    if not citations:
        return Answer(question, lang, False, NOT_FOUND[lang], (), passages)
    return Answer(question, lang, True, answer_text(lang, citations, documents), tuple(citations), passages)
