"""The Textual terminal UI: ask, read the quoted answer, check every quote against its paragraph.

Only this module and its ``tui_*`` helpers import Textual. The engine is built by an
injected factory in a background thread, so the screen appears at once and tests can
drive the app with a fake engine. Questions run in an exclusive worker thread; each
carries a generation number and only the newest generation may touch the screen, so a
slow, superseded or cancelled question can never overwrite a newer answer.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from assistant.apps.tui.cite import citation_text
from assistant.apps.tui.evidence import EvidencePane
from assistant.apps.tui.i18n import HINTS, t
from assistant.apps.tui.render import answer_header, citation_prompt, error_text, source_prompt
from assistant.apps.tui.screens import FilterScreen, HelpScreen, ReaderScreen
from assistant.apps.tui.status import StatusState, status_line
from assistant.apps.tui.style import APP_CSS, WIDE
from assistant.apps.tui.widgets import NavList, QuestionInput
from assistant.engine import Engine, clean_question
from assistant.errors import QuestionError
from assistant.records import Answer, Citation, Hit, Lang
from assistant.settings import Settings

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # advanced every 0.1 s while loading or asking


class AssistantApp(App[None]):
    """Ask a question, read the quoted, cited answer, and inspect the evidence behind it."""

    TITLE = "assistant"
    CSS = APP_CSS
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "Quit", priority=True, show=False),
        Binding("ctrl+l", "clear", "Clear", priority=True, show=False),
        Binding("f1", "help", "Help", show=False),
        # The keys below are plain characters: the focused Input consumes them, so they
        # never fire while the user is typing a question.
        Binding("q", "quit", "Quit", show=False),
        Binding("question_mark", "help", "Help", show=False),
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("f", "filter", "Filter", show=False),
        Binding("o", "open_reader", "Open", show=False),
        Binding("y", "copy", "Copy", show=False),
        Binding("l", "toggle_lang", "Language", show=False),
        Binding("slash,i", "focus_input", "Ask", show=False),
        Binding("r", "retry", "Retry", show=False),
    ]

    lang: reactive[Lang] = reactive("en", init=False)

    def __init__(self, engine_factory: Callable[[], Engine], lang: Lang = "en") -> None:
        super().__init__()
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._load_error: BaseException | None = None
        self._pending: str | None = None  # asked while loading; asked once the engine is ready
        self._gen = 0  # generation of the newest question; older results are dropped
        self._busy_since: float | None = None
        self._lock = threading.Lock()  # one engine call at a time: a superseded one may still run
        self._answer: Answer | None = None
        self._selected: Citation | Hit | None = None  # what the evidence pane shows
        self._filter: frozenset[str] | None = None
        self._last_ms: float | None = None
        self._notice = ""
        self._frame = 0
        self._lang_chosen = False  # once the user picks a language with l, questions no longer change it
        self.set_reactive(AssistantApp.lang, lang)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield QuestionInput(placeholder=t("placeholder", self.lang), id="question")
        with Container(id="body"):
            with Vertical(id="left"):
                yield NavList(id="answer", classes="pane")
                yield NavList(id="sources", classes="pane")
            yield EvidencePane(id="evidence-pane", classes="pane")
        with VerticalScroll(id="error"):
            yield Static(id="error-text")
        yield Static(id="status")
        yield Static(id="keys")

    @property
    def _main(self) -> Screen:
        # App.query_one searches the *current* screen, which may be a modal when a result arrives.
        return self.screen_stack[0]

    def on_mount(self) -> None:
        self._apply_width(self.size.width)
        self._render_all()
        self.set_interval(0.1, self._tick)
        self._main.query_one("#question").focus()
        self._load()

    def on_resize(self, event: events.Resize) -> None:
        self._apply_width(event.size.width)
        self._render_status()

    def _apply_width(self, width: int) -> None:
        self._main.query_one("#body").set_class(width >= WIDE, "-wide")
        # Narrow terminals: a one-row input leaves two more rows for the answer.
        self._main.query_one(QuestionInput).compact = width < WIDE

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self) -> None:
        try:
            engine = self._engine_factory()
        except Exception as exc:  # shown as a panel with the fix, never as a traceback
            self._from_thread(self._load_failed, exc)
            return
        self._from_thread(self._loaded, engine)

    def _from_thread(self, callback: Callable[..., object], *args: object) -> None:
        # RuntimeError: the app has already exited; nobody is waiting for this result.
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(callback, *args)

    def _loaded(self, engine: Engine) -> None:
        self._engine, self._load_error = engine, None
        self._main.remove_class("-error")
        self._main.query_one("#question", Input).disabled = False
        self._render_all()
        if self._pending is not None:
            question, self._pending = self._pending, None
            self._start_ask(question)

    def _load_failed(self, exc: BaseException) -> None:
        self._load_error = exc
        self._main.query_one("#question", Input).disabled = True
        self._main.add_class("-error")
        self._render_all()

    def action_retry(self) -> None:
        """Load the engine again after an error (e.g. once the index has been rebuilt)."""
        if self._load_error is None:
            return
        self._load_error = None
        self._main.remove_class("-error")
        self._render_all()
        self._load()

    # ------------------------------------------------------------------ asking

    @on(Input.Submitted, "#question")
    def _submitted(self, event: Input.Submitted) -> None:
        box = self._main.query_one(QuestionInput)
        try:
            question, lang = clean_question(event.value)
        except QuestionError as exc:
            if event.value.strip():
                self.notify(str(exc), severity="warning")
            return  # an empty question is ignored silently
        box.remember(question)
        box.value = ""
        if not self._lang_chosen:
            self.lang = lang  # the labels follow the question until the user picks a language
        if self._engine is None:
            self._pending = question  # the newest question typed while loading wins
            self._render_status()
            return
        self._start_ask(question)

    def _start_ask(self, question: str) -> None:
        self._gen += 1
        self._busy_since, self._notice = time.monotonic(), ""
        self._set_stale(True)
        self._ask(question, sorted(self._filter) if self._filter else None, self._gen)
        self._render_status()

    @work(thread=True, exclusive=True, group="ask", exit_on_error=False)
    def _ask(self, question: str, doc_ids: list[str] | None, gen: int) -> None:
        worker = get_current_worker()
        engine = self._engine
        assert engine is not None
        with self._lock:
            if worker.is_cancelled or gen != self._gen:
                return  # superseded while a previous question held the engine
            started = time.perf_counter()
            try:
                result: Answer | BaseException = engine.ask(question, doc_ids=doc_ids)
            except Exception as exc:  # reported in the answer pane, not as a traceback
                result = exc
            wall_ms = (time.perf_counter() - started) * 1000
        if not worker.is_cancelled:
            self._from_thread(self._deliver, gen, result, wall_ms)

    def _deliver(self, gen: int, result: Answer | BaseException, wall_ms: float) -> None:
        if gen != self._gen:
            return  # a newer question was asked, or this one was cancelled
        self._busy_since = None
        self._set_stale(False)
        if isinstance(result, BaseException):
            self.notify(str(result) or type(result).__name__, severity="error", timeout=8)
            self._render_status()
            return
        self._answer = result
        self._last_ms = result.timings_ms.get("total", wall_ms)
        self._selected = None
        self._render_all(keep=False)
        box = self._main.query_one(QuestionInput)
        if box.has_focus and not box.value:
            # Only when the user is not already typing the next question: j/k would
            # otherwise land in a list instead of the input.
            self._main.query_one("#answer" if result.citations else "#sources").focus()

    def action_cancel(self) -> None:
        """Cancel the running (or queued) question, discarding its result; else back to the input."""
        if self._busy_since is None and self._pending is None:
            self.action_focus_input()
            return
        self._gen += 1
        self.workers.cancel_group(self, "ask")
        self._busy_since, self._pending = None, None
        self._set_stale(False)
        self._notice = t("cancelled", self.lang)
        self._render_status()

    def _set_stale(self, stale: bool) -> None:
        # Dim the previous answer while a new one is on its way.
        for pane in self._main.query(NavList):
            pane.set_class(stale, "-stale")

    # ------------------------------------------------------------------ rendering

    def _tick(self) -> None:
        """Animate the status line while something runs, so the UI never looks frozen."""
        if self._busy_since is not None or (self._engine is None and self._load_error is None):
            self._frame += 1
            self._render_status()

    def _render_all(self, keep: bool = True) -> None:
        box = self._main.query_one(QuestionInput)
        box.placeholder = t("placeholder", self.lang)
        box.border_title = t("question", self.lang)
        self._main.query_one("#answer").border_title = t("answer", self.lang)
        self._main.query_one("#sources").border_title = t("sources", self.lang)
        self._main.query_one("#evidence-pane").border_title = t("evidence", self.lang)
        self._render_answer(keep)
        self._render_sources(keep)
        self._render_evidence()
        self._render_status()
        if self._load_error is not None:
            self._main.query_one("#error-text", Static).update(error_text(self._load_error, self.lang))

    def _render_answer(self, keep_cursor: bool = True) -> None:
        pane = self._main.query_one("#answer", NavList)
        keep = pane.highlighted if keep_cursor else None
        pane.clear_options()
        a = self._answer
        if a is None:
            intro = Text(t("loading", self.lang) + "\n" + t("loading_hint", self.lang), style="italic")
            if self._engine is not None:
                intro = Text(t("welcome", self.lang))
            pane.add_option(Option(intro, disabled=True))
            return
        pane.add_option(Option(answer_header(a, self.lang), disabled=True))
        docs = self._engine.documents if self._engine else {}
        if a.citations:
            pane.add_option(None)  # a rule between the composed answer and its quotations
        for c in a.citations:
            pane.add_option(Option(citation_prompt(c, docs.get(c.paragraph.doc_id)), id=f"c{c.n}"))
        if a.citations:
            pane.highlighted = keep if keep and keep <= len(a.citations) else 1
            if not keep_cursor:
                # Read from the top: the question and composed answer first, then the quotations.
                self.call_after_refresh(pane.scroll_home, animate=False)

    def _render_sources(self, keep_cursor: bool = True) -> None:
        pane = self._main.query_one("#sources", NavList)
        keep = pane.highlighted if keep_cursor else None
        pane.clear_options()
        a = self._answer
        if a is None:
            return
        cited = {c.paragraph.ref: c.n for c in a.citations}
        for h in a.passages:
            pane.add_option(Option(source_prompt(h, cited.get(h.paragraph.ref))))
        if a.passages:
            pane.highlighted = keep if keep is not None and keep < len(a.passages) else 0

    def _current(self) -> Citation | Hit | None:
        """What the evidence pane shows: the chosen item, else the first citation or source."""
        if self._selected is not None:
            return self._selected
        a = self._answer
        if a is None:
            return None
        if a.citations:
            return a.citations[0]
        return a.passages[0] if a.passages else None

    def _render_evidence(self) -> None:
        self._main.query_one(EvidencePane).show_item(self._current(), self._answer, self._engine, self.lang)

    def _render_status(self) -> None:
        engine = self._engine
        state = StatusState(
            lang=self.lang,
            spinner=SPINNER[self._frame % len(SPINNER)],
            error=self._load_error is not None,
            queued=self._pending is not None,
            busy_s=None if self._busy_since is None else time.monotonic() - self._busy_since,
            last_ms=self._last_ms,
            notice=self._notice,
        )
        if engine is not None:
            state.model = engine.index.manifest.model_name
            state.n_docs, state.n_paragraphs = len(engine.documents), engine.index.manifest.n_paragraphs
            state.n_searched = len(self._filter) if self._filter else state.n_docs
        # The status Static pads one cell each side.
        self._main.query_one("#status", Static).update(status_line(state, self.size.width - 2))
        self._render_keys()

    def _render_keys(self) -> None:
        which = "error" if self._load_error else ("input" if isinstance(self.focused, Input) else "panes")
        self._main.query_one("#keys", Static).update(Text(HINTS[which][self.lang]))

    def watch_lang(self) -> None:
        self._render_all()

    # ------------------------------------------------------------------ selection

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # Only the focused list drives the evidence: re-rendering both lists highlights both, and
        # those events arrive in any order. Late events during exit find no screen: ignored.
        if self.screen_stack and event.option_list.has_focus:
            with contextlib.suppress(NoMatches):
                self._select_from(event.option_list)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self._select_from(event.option_list)
        self.action_open_reader()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if not self.screen_stack:
            return
        with contextlib.suppress(NoMatches):  # as above: late events during exit
            if isinstance(event.widget, NavList):
                self._select_from(event.widget)
            self._render_keys()

    def _select_from(self, pane: OptionList) -> None:
        a, i = self._answer, pane.highlighted
        if a is None or i is None:
            return
        if pane.id == "answer" and 1 <= i <= len(a.citations):
            item: Citation | Hit = a.citations[i - 1]
        elif pane.id == "sources" and i < len(a.passages):
            item = a.passages[i]
        else:
            return
        if item is not self._selected:
            self._selected = item
            self._render_evidence()

    @on(NavList.Boundary)
    def _boundary(self, event: NavList.Boundary) -> None:
        # Down past the last citation continues into the sources; up from the first source returns.
        if event.nav_list.id == "answer" and event.direction > 0:
            self._main.query_one("#sources").focus()
        elif (
            event.nav_list.id == "sources" and event.direction < 0 and self._answer and self._answer.citations
        ):
            self._main.query_one("#answer").focus()

    # ------------------------------------------------------------------ actions

    def action_focus_input(self) -> None:
        """Back to the question box."""
        self._main.query_one("#question").focus()

    def action_clear(self) -> None:
        """Clear the question, answer, sources and evidence (and drop a running question)."""
        if self._busy_since is not None or self._pending is not None:
            self.action_cancel()
        self._answer, self._selected, self._notice = None, None, ""
        box = self._main.query_one(QuestionInput)
        box.value = ""
        self._render_all()
        box.focus()

    def action_help(self) -> None:
        """Show every key."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.lang))

    def action_toggle_lang(self) -> None:
        """Switch the labels between English and Chinese; the choice holds for later questions."""
        self._lang_chosen = True
        self.lang = "zh" if self.lang == "en" else "en"
        self.notify(t("lang_switched", self.lang), timeout=2)

    def action_filter(self) -> None:
        """Choose which documents are searched; re-asks the current question under the new filter."""
        if self._engine is None:
            self.notify(t("still_loading", self.lang))
            return
        docs = self._engine.documents

        def done(chosen: frozenset[str] | None) -> None:
            if chosen is None:
                return
            self._filter = chosen if chosen and chosen != frozenset(docs) else None
            if not chosen:
                self.notify(t("filter_none", self.lang), severity="warning")
            else:
                self.notify(t("filter_applied", self.lang, n=len(chosen), total=len(docs)), timeout=3)
            if self._answer is not None:
                self._start_ask(self._answer.question)
            self._render_status()

        self.push_screen(FilterScreen(docs, self._filter, self.lang), done)

    def action_open_reader(self) -> None:
        """Open the selected paragraph in the full-document reader."""
        item, engine, a = self._current(), self._engine, self._answer
        if item is None or engine is None or a is None:
            self.notify(t("nothing_selected", self.lang))
            return
        doc_id = item.paragraph.doc_id
        units = engine.index.doc_paragraphs(doc_id)
        self.push_screen(ReaderScreen.around(item, a, units, engine.documents.get(doc_id), self.lang))

    def action_copy(self) -> None:
        """Copy the selected quote with its full citation (authors, year, title, section, page, ref)."""
        obj, engine = self._current(), self._engine
        if obj is None or engine is None:
            self.notify(t("nothing_selected", self.lang))
            return
        p = obj.paragraph
        self.copy_to_clipboard(citation_text(obj, engine.documents.get(p.doc_id)))
        self.notify(t("copied", self.lang, ref=p.ref), timeout=3)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show one toast at a time: the style sheet puts it on the key-hint row, and a second
        toast would stack up over the status line and the evidence."""
        self.clear_notifications()
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)


def open_engine(settings: Settings) -> Engine:
    """The production engine factory: open the index, then load the model.

    The model loads lazily on its first query; warming it up here makes the loading
    state honest and the first question as fast as the rest.
    """
    engine = Engine.open(settings)
    engine.embedder.encode_queries(["warm-up 预热"])
    return engine


def run(settings: Settings) -> int:
    """Open the app on the configured index (the CLI's default command)."""
    import locale

    lang: Lang = "zh" if (locale.getlocale()[0] or "").lower().startswith("zh") else "en"
    AssistantApp(lambda: open_engine(settings), lang=lang).run()
    return 0
