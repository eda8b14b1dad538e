"""What ``y`` copies: a quotation with a citation a researcher can paste into a draft as is.

One line, author–date first, in the order of the answer pane's own citation lines::

    “quote” — 徐泉, 耿旭洋 (2021), 《边境后措施国际监管合作发展趋向与问题阐释》, 上海对外经贸大学学报,
    § 一、… › 1. 相互认可, p. 7, xu-geng-2021:p5

A document without a year says ``n.d.`` (so a missing year is never mistaken for a
cut-off one); without authors the title takes the author's place. The ref always ends
the line so the quote can be found again with ``assistant show``.
"""

from __future__ import annotations

import re

from assistant.apps.tui.render import hit_span
from assistant.records import Citation, DocumentMeta, Hit, Paragraph

SECTION_SEP = " › "  # as the evidence pane and the answer pane show a heading path
NO_DATE = "n.d."
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def quoted_text(item: Citation | Hit) -> str:
    """The words ``y`` quotes: a citation's quote, else a source's best-matching chunk (or all of it)."""
    p = item.paragraph
    if isinstance(item, Citation):
        return item.quote
    span = hit_span(item)
    return p.text[span[0] : span[1]] if span else p.text


def title_text(meta: DocumentMeta) -> str:
    """The full title, in 《》 when it is Chinese (the mark Chinese citations put titles in)."""
    return f"《{meta.title}》" if _CJK.search(meta.title) else meta.title


def reference(p: Paragraph, meta: DocumentMeta | None) -> str:
    """The citation of paragraph ``p``: authors (year), title, journal, § section, pages, ref."""
    year = str(meta.year) if meta and meta.year else NO_DATE
    if meta is None:
        head = [f"{p.doc_id} ({year})"]
    elif meta.authors:
        head = [f"{', '.join(meta.authors)} ({year})", title_text(meta)]
    else:
        head = [f"{title_text(meta)} ({year})"]
    fields = [*head, meta.journal if meta else ""]
    if p.section:
        fields.append("§ " + SECTION_SEP.join(p.section))
    fields += [p.pages_label, p.ref]
    return ", ".join(f for f in fields if f)


def citation_text(item: Citation | Hit, meta: DocumentMeta | None) -> str:
    """The clipboard text for ``item``: the quote on one line, then its full citation."""
    quote = " ".join(quoted_text(item).split())  # a pasted quote is one line, whatever the PDF's breaks
    return f"“{quote}” — {reference(item.paragraph, meta)}"
