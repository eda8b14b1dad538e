"""Secondary screens of the terminal UI: key help, document filter and full-document reader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from assistant.apps.tui.i18n import KEYS, t
from assistant.apps.tui.render import find_span, hit_span, reader_unit
from assistant.records import Answer, Citation, DocumentMeta, Hit, Lang, Paragraph


class HelpScreen(ModalScreen[None]):
    """Every key of the app, in the current UI language."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90%; max-width: 96; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    HelpScreen VerticalScroll { height: auto; max-height: 80vh; }
    HelpScreen #help-close { color: $text-muted; }
    """

    def __init__(self, lang: Lang) -> None:
        super().__init__()
        self.lang = lang

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold #e5c07b", no_wrap=True)
        table.add_column()
        for keys, en, zh in KEYS:
            table.add_row(keys, zh if self.lang == "zh" else en)
        with Vertical() as box:
            box.border_title = t("help_title", self.lang)
            with VerticalScroll():
                yield Static(table, id="help-keys")
            yield Static(t("help_close", self.lang), id="help-close")

    async def action_dismiss(self, result: None = None) -> None:
        """Close the help."""
        self.dismiss(result)


class FilterScreen(ModalScreen[frozenset[str] | None]):
    """Choose which documents are searched; dismisses with the chosen doc_ids, or None on cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("enter", "apply", "Apply", show=False, priority=True),
        Binding("a", "all", "All", show=False),
        Binding("n", "none", "None", show=False),
    ]
    DEFAULT_CSS = """
    FilterScreen { align: center middle; }
    FilterScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    FilterScreen SelectionList { height: auto; max-height: 20; }
    FilterScreen #filter-hint { color: $text-muted; }
    """

    def __init__(self, documents: Mapping[str, DocumentMeta], chosen: frozenset[str] | None, lang: Lang):
        super().__init__()
        self.documents = documents
        self.chosen = chosen
        self.lang = lang

    def compose(self) -> ComposeResult:
        selections = []
        for doc_id, meta in sorted(self.documents.items()):
            prompt = Text()
            prompt.append(meta.label, style="bold")
            if meta.year:
                prompt.append(f" ({meta.year})")
            prompt.append(f"  {doc_id}", style="cyan")
            on = self.chosen is None or doc_id in self.chosen
            selections.append(Selection(prompt, doc_id, on))
        with Vertical() as box:
            box.border_title = t("filter_title", self.lang)
            yield SelectionList[str](*selections, id="filter-list")
            yield Static(t("filter_hint", self.lang), id="filter-hint")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_all(self) -> None:
        """Select every document."""
        self.query_one(SelectionList).select_all()

    def action_none(self) -> None:
        """Deselect every document."""
        self.query_one(SelectionList).deselect_all()

    def action_apply(self) -> None:
        """Close with the selected doc_ids."""
        self.dismiss(frozenset(self.query_one(SelectionList).selected))

    def action_cancel(self) -> None:
        """Close without changing the filter."""
        self.dismiss(None)


class ReaderScreen(Screen[None]):
    """The whole document, scrolled to the cited unit, which is highlighted.

    One Static per unit (not one big text) so the target can be scrolled into view
    by widget, and ``n``/``p`` can jump between the units this answer cites.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", show=False),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
        Binding("g", "scroll('home')", "Top", show=False),
        Binding("G", "scroll('end')", "Bottom", show=False),
        Binding("n", "jump(1)", "Next cited", show=False),
        Binding("p", "jump(-1)", "Previous cited", show=False),
    ]
    DEFAULT_CSS = """
    ReaderScreen #reader-head { height: auto; background: $panel; padding: 0 1; }
    ReaderScreen #reader { padding: 0 1; }
    ReaderScreen .unit { margin: 1 0 0 0; padding: 0 1; }
    ReaderScreen .unit.-cited { border-left: thick $accent 50%; }
    ReaderScreen .unit.-target { border-left: thick $accent; background: $boost; }
    """

    def __init__(
        self,
        meta: DocumentMeta | None,
        units: Sequence[Paragraph],
        target: str,
        spans: Mapping[str, tuple[int, int] | None],
        markers: Mapping[str, int],
        lang: Lang,
    ) -> None:
        super().__init__()
        self.meta = meta
        self.units = list(units)
        self.target = target
        self.spans = spans
        self.markers = markers
        self.lang = lang
        self._marked = [i for i, u in enumerate(self.units) if u.ref in spans or u.ref == target]

    @classmethod
    def around(
        cls,
        item: Citation | Hit,
        answer: Answer,
        units: Sequence[Paragraph],
        meta: DocumentMeta | None,
        lang: Lang,
    ) -> ReaderScreen:
        """The reader on ``item``'s paragraph, with every quote of ``answer`` in this document marked."""
        p = item.paragraph
        spans: dict[str, tuple[int, int] | None] = {
            c.paragraph.ref: find_span(c.paragraph.text, c.quote)
            for c in answer.citations
            if c.paragraph.doc_id == p.doc_id
        }
        if isinstance(item, Hit) and p.ref not in spans:
            spans[p.ref] = hit_span(item)
        markers = {c.paragraph.ref: c.n for c in answer.citations}
        return cls(meta, units, p.ref, spans, markers, lang)

    def compose(self) -> ComposeResult:
        head = Text()
        head.append(f"《{self.meta.title}》" if self.meta else self.units[0].doc_id, style="bold")
        head.append(f"  {self.target}\n", style="bold cyan")
        head.append(t("reader_hint", self.lang), style="dim")
        yield Static(head, id="reader-head")
        with VerticalScroll(id="reader"):
            for i, u in enumerate(self.units):
                classes = "unit"
                if u.ref in self.spans:
                    classes += " -cited"
                if u.ref == self.target:
                    classes += " -target"
                yield Static(
                    reader_unit(u, self.spans.get(u.ref), self.markers.get(u.ref)),
                    id=f"u{i}",
                    classes=classes,
                )

    def on_mount(self) -> None:
        scroller = self.query_one("#reader", VerticalScroll)
        scroller.focus()
        target = next((i for i, u in enumerate(self.units) if u.ref == self.target), 0)
        self._current = target
        # After the first layout: before it, widget positions (and so the scroll offset) are unknown.
        self.call_after_refresh(self._show, target)

    def _show(self, i: int) -> None:
        self.query_one("#reader", VerticalScroll).scroll_to_widget(
            self.query_one(f"#u{i}"), animate=False, top=True
        )

    def action_scroll(self, where: str) -> None:
        """Scroll the document."""
        scroller = self.query_one("#reader", VerticalScroll)
        {"down": scroller.scroll_down, "up": scroller.scroll_up}.get(where, lambda **_: None)(animate=False)
        if where == "home":
            scroller.scroll_home(animate=False)
        elif where == "end":
            scroller.scroll_end(animate=False)

    def action_jump(self, step: int) -> None:
        """Scroll to the next (+1) or previous (-1) cited unit."""
        marked = [i for i in self._marked if (i > self._current if step > 0 else i < self._current)]
        if marked:
            self._current = marked[0] if step > 0 else marked[-1]
            self._show(self._current)

    def action_close(self) -> None:
        """Back to the main screen."""
        self.app.pop_screen()
