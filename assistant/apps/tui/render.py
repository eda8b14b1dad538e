"""Rich text for the terminal UI's panes: answer, citations, sources, evidence, reader, errors.

Pure functions from records to ``rich.text.Text`` so they are easy to test and never
touch widget state. Rich ``Text`` (not markup strings) is used throughout because
quotes and section titles may contain ``[`` which markup would misread.
Widths are measured in terminal cells (``rich.cells``), never in characters, so
Chinese double-width text is cut and wrapped correctly. The panes' texts are
:class:`~assistant.apps.wrap_rich.PaneText`: Textual lays them out at the pane's width by the
command line's rules (no break inside a number or a Latin word, no line starting with ``，``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from assistant.apps.tui.i18n import t
from assistant.apps.wrap_rich import PaneText, Wrapped
from assistant.errors import AssistantError, CorpusError, IndexStoreError, ModelError, one_line
from assistant.records import Answer, Citation, DocumentMeta, Hit, Lang, Paragraph

MARK = "bold #e5c07b on #3a3320"  # the quoted sentence: readable on dark and light themes
DIM = "dim"
REF = "bold cyan"
MARKER = re.compile(r"\[(\d+)\]")
SECTION_SEP = " › "
BEFORE_CELLS = 160  # how much of the previous unit the evidence pane shows


def section_path(p: Paragraph) -> str:
    """The heading path of a unit, outermost first."""
    return SECTION_SEP.join(p.section)


def snippet(text: str, cells: int) -> str:
    """``text`` on one line, cut to at most ``cells`` terminal cells (an ellipsis marks the cut)."""
    flat = " ".join(text.split())
    if cell_len(flat) <= cells:
        return flat
    out, used = [], 0
    for ch in flat:
        w = cell_len(ch)
        if used + w > cells - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def tail(text: str, cells: int) -> str:
    """The end of ``text`` in at most ``cells`` terminal cells, an ellipsis marking the cut."""
    if cell_len(text) <= cells:
        return text
    out, used = [], 1
    for ch in reversed(text):
        used += cell_len(ch)
        if used > cells:
            break
        out.append(ch)
    return "…" + "".join(reversed(out)).lstrip()


def find_span(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` sits in ``text``: exactly, else ignoring whitespace differences."""
    if not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    chars = [re.escape(ch) for ch in quote if not ch.isspace()]
    if not chars:
        return None
    m = re.search(r"\s*".join(chars), text)
    return (m.start(), m.end()) if m else None


def hit_span(hit: Hit) -> tuple[int, int] | None:
    """The best-matching chunk of a retrieved paragraph, as a span of its text."""
    c = hit.chunk
    if c is None or c.ref != hit.paragraph.ref:
        return None
    return c.start, c.end


def doc_label(meta: DocumentMeta | None, doc_id: str) -> str:
    """Short title of a document, falling back to its id."""
    return meta.label if meta else doc_id


def answer_header(answer: Answer, lang: Lang) -> PaneText:
    """The question, then the composed answer with its ``[n]`` markers emphasised."""
    out = Text()
    out.append("› ", style="bold")
    out.append(answer.question + "\n", style="bold")
    if not answer.answerable:
        out.append(f" {t('not_found', lang)} ", style="bold black on #d19a66")
        out.append("\n")
    body = Text(answer.text)
    body.highlight_regex(MARKER, style="bold #61afef")
    out.append_text(body)
    if not answer.citations:
        out.append("\n\n" + t("no_citations", lang), style="italic")
    return PaneText.of(out)


def citation_prompt(c: Citation, meta: DocumentMeta | None) -> Table:
    """One citation: the quotation, then its citation line (short title, section path, ref).

    A two-column grid gives the quote a hanging indent under its ``[n]`` marker.
    """
    body = Text()
    body.append(f"“{c.quote}”", style="italic")
    body.append("\n— ")
    body.append(doc_label(meta, c.paragraph.doc_id), style="bold")
    if c.paragraph.section:
        body.append(SECTION_SEP + section_path(c.paragraph), style=DIM)
    body.append(" · ")
    body.append(c.paragraph.cite_label, style=REF)
    grid = Table.grid(padding=(0, 1, 0, 0), expand=True)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(f"[{c.n}]", style="bold #61afef"), Wrapped(body))
    return grid


def source_prompt(hit: Hit, cited: int | None) -> Text:
    """One retrieved passage on one line: rank, score, ref, cited marker, heading and snippet.

    The snippet is longer than any pane; the list's CSS (``text-wrap: nowrap``) cuts it
    to the pane's width in cells with an ellipsis, so it follows resizes by itself.
    """
    p = hit.paragraph
    out = Text()
    out.append(f"{hit.rank}. ", style="bold")
    out.append(f"{hit.score:.3f} ", style="#98c379")
    out.append(p.cite_label, style=REF)
    if cited is not None:
        out.append(f" [{cited}]", style="bold #61afef")
    if p.section:
        out.append(" " + snippet(p.section[-1], 16), style="italic #c678dd")
    out.append("  " + snippet(p.text, 240), style=DIM)
    return out


def _unit_heading(p: Paragraph, label: str, style: str) -> Text:
    out = Text()
    out.append(p.ref, style=style)
    if label:
        out.append(f"  ({label})", style=DIM)
    return out


def evidence_text(
    p: Paragraph,
    meta: DocumentMeta | None,
    before: Sequence[Paragraph],
    after: Sequence[Paragraph],
    span: tuple[int, int] | None,
    lang: Lang,
    score: float | None = None,
    marker: int | None = None,
) -> PaneText:
    """The full paragraph with ``span`` highlighted, its section path, and dimmed neighbours around it."""
    out = Text()
    title = f"《{meta.title}》" if meta else p.doc_id
    out.append(title + "\n", style="bold")
    facts = []
    if meta and meta.authors:
        facts.append(", ".join(meta.authors))
    if meta and meta.year:
        facts.append(str(meta.year))
    out.append(" · ".join(facts) + ("\n" if facts else ""), style=DIM)
    out.append("§ " + (section_path(p) or "—") + "\n", style="italic #c678dd")
    for u in before:
        # Only the end of the previous unit: enough to read into the cited one without
        # pushing it off a small pane (the reader, ``o``, shows it whole).
        out.append("\n")
        out.append_text(_unit_heading(u, t("before", lang), DIM))
        out.append("\n" + tail(u.text, BEFORE_CELLS) + "\n", style=DIM)
    out.append("\n")
    head = Text("▌ ", style="bold #e5c07b")
    head.append(p.cite_label, style=REF)
    if marker is not None:
        head.append(f"  [{marker}]", style="bold #61afef")
    if score is not None:
        head.append(f"  {t('score', lang)} {score:.3f}", style=DIM)
    out.append_text(head)
    body = Text("\n" + p.text + "\n")
    if span is not None:
        body.stylize(MARK, span[0] + 1, span[1] + 1)  # +1: the leading newline
    out.append_text(body)
    if p.links:
        out.append(f"{t('linked', lang)}: {', '.join(p.links)}\n", style=DIM)
    for u in after:
        out.append("\n")
        out.append_text(_unit_heading(u, t("after", lang), DIM))
        out.append("\n" + u.text + "\n", style=DIM)
    return PaneText.of(out)


def reader_unit(p: Paragraph, span: tuple[int, int] | None, marker: int | None) -> PaneText:
    """One unit in the full-document reader; ``span`` (if any) is highlighted."""
    out = Text()
    out.append(p.cite_label, style=REF if span is not None or marker is not None else DIM)
    if marker is not None:
        out.append(f"  [{marker}]", style="bold #61afef")
    if p.section:
        out.append("  " + p.section[-1], style="italic #c678dd" if span is not None else DIM)
    body = Text("\n" + p.text)
    if span is not None:
        body.stylize(MARK, span[0] + 1, span[1] + 1)
    out.append_text(body)
    return PaneText.of(out)


FIX_COMMAND = re.compile(r"`([^`]+)`")


def fix_command(exc: BaseException) -> str | None:
    """The shell command that fixes a start-up error, read off its message or its type."""
    m = FIX_COMMAND.search(str(exc))
    if m:
        return m.group(1)
    if isinstance(exc, IndexStoreError):
        return "assistant index"
    if isinstance(exc, ModelError):
        return "assistant models fetch"
    return None


def error_text(exc: BaseException, lang: Lang) -> PaneText:
    """A friendly, traceback-free explanation of why the engine could not be opened."""
    known = isinstance(exc, AssistantError)
    out = Text()
    out.append(t("error_title", lang) + "\n\n", style="bold #e06c75")
    kind = {IndexStoreError: "index", ModelError: "model", CorpusError: "corpus"}
    name = next((v for k, v in kind.items() if isinstance(exc, k)), type(exc).__name__)
    out.append(f"{name}: ", style="bold")
    out.append(one_line(exc) if known else str(exc) or repr(exc))
    out.append("\n\n")
    cmd = fix_command(exc)
    if cmd:
        out.append(t("fix", lang) + "\n\n")
        out.append(f"    {cmd}    ", style="bold black on #98c379")
        out.append("\n\n")
    elif not known:
        out.append(t("unexpected", lang) + "\n\n", style="italic")
    out.append(t("retry", lang), style=DIM)
    return PaneText.of(out)
