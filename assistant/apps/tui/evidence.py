"""The evidence pane: the paragraph behind a citation or source, in context, with its quote in view.

The context above the paragraph (title, authors, section path, the end of the previous
paragraph) fills a small pane by itself: at 80x24 the quoted sentence started below the
bottom edge. So after each layout the pane finds, in the lines it has just drawn, the
paragraph's heading line and the highlighted sentence, and scrolls them into view.
Reading the drawn lines (not re-wrapping the text) keeps this right whatever rules the
text is wrapped by.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Static

from assistant.apps.tui.i18n import t
from assistant.apps.tui.render import MARK, evidence_text, find_span, hit_span
from assistant.engine import Engine
from assistant.records import Answer, Citation, Hit, Lang

HEADING = "▌"  # evidence_text opens the shown paragraph with this on a line of its own
_MARK_BG = Style.parse(MARK).bgcolor
assert _MARK_BG is not None  # the highlight is told apart by its background
MARK_BG = _MARK_BG.get_truecolor()


def _marked(strip: Strip) -> bool:
    return any(s.style and s.style.bgcolor and s.style.bgcolor.get_truecolor() == MARK_BG for s in strip)


def focus_rows(strips: list[Strip]) -> tuple[int, int, int] | None:
    """Rows of the drawn evidence: the paragraph's heading, and the first and last of its quote.

    None when no paragraph is shown; a paragraph without a highlight counts its first line.
    """
    heading = next((y for y, s in enumerate(strips) if s.text.lstrip().startswith(HEADING)), None)
    if heading is None:
        return None
    marked = [y for y, s in enumerate(strips) if y > heading and _marked(s)]
    return (heading, marked[0], marked[-1]) if marked else (heading, heading + 1, heading + 1)


def scroll_top(heading: int, start: int, end: int, height: int) -> int:
    """The first line to show so the quote (lines ``start``..``end``) is in a pane ``height`` lines high.

    The top of the text while the quote is in view from there (title and section included);
    else the paragraph's ``heading`` line; a quote longer than the pane shows its beginning
    with one line of lead-in.
    """
    if end < height:
        return 0
    if end - heading < height:
        return heading
    return max(heading, start - 1)


class EvidencePane(VerticalScroll):
    """Shows one paragraph in context, scrolled so its highlighted sentence is in view."""

    def compose(self) -> ComposeResult:
        yield Static(id="evidence")

    def show_item(
        self, item: Citation | Hit | None, answer: Answer | None, engine: Engine | None, lang: Lang
    ) -> None:
        """Show the paragraph of ``item`` (a citation's quote or a source's best chunk highlighted)."""
        if item is None or engine is None or answer is None:
            self.show(Text(t("evidence_empty", lang), style="italic dim"))
            return
        p = item.paragraph
        if isinstance(item, Citation):
            span, marker = find_span(p.text, item.quote), item.n
        else:
            span = hit_span(item)
            marker = next((c.n for c in answer.citations if c.paragraph.ref == p.ref), None)
        try:
            before, after = engine.neighbours(p.ref)
        except (KeyError, ValueError):
            before, after = [], []
        meta = engine.documents.get(p.doc_id)
        self.show(evidence_text(p, meta, before, after, span, lang, item.score, marker))
        self.border_title = f"{t('evidence', lang)} · {p.cite_label}"

    def show(self, text: Text) -> None:
        """Show ``text``; once it is laid out, scroll its paragraph's quote into view."""
        self.query_one("#evidence", Static).update(text)
        self.scroll_home(animate=False)
        # After the layout: only then are the text's lines (scrollbar or not) and the pane's height known.
        self.call_after_refresh(self.reveal)

    def reveal(self) -> None:
        """Scroll so the quoted sentence is in view (see :func:`scroll_top`)."""
        view = self.query_one("#evidence", Static)
        height = self.scrollable_content_region.height
        if height <= 0 or view.size.area == 0:
            return
        rows = focus_rows(view.render_lines(Region(0, 0, *view.size)))
        if rows is not None:
            self.scroll_to(y=scroll_top(*rows, height), animate=False)

    def on_resize(self, event: events.Resize) -> None:
        """Keep the quote in view when the terminal is resized (the text wraps anew)."""
        self.call_after_refresh(self.reveal)
