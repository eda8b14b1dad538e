"""The Textual terminal UI (minimal for now; the full UI is its own issue).

Only this module imports Textual: the engine is injected through the
constructor, so tests can drive the app with a fake engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Input, Static

from assistant.engine import Engine, QuestionError, Settings
from assistant.records import Answer


def render_answer(answer: Answer) -> str:
    """Plain text for the answer pane: the answer, then the passages with refs and scores."""
    lines = [answer.text, ""]
    lines.append("最接近的段落" if answer.lang == "zh" else "Closest passages")
    for h in answer.passages:
        lines.append(f"  {h.rank}. {h.paragraph.ref}  {h.score:.3f}  {h.paragraph.section_label}")
    return "\n".join(lines)


class AssistantApp(App[None]):
    """Ask a question, read the quoted, cited answer."""

    TITLE = "assistant"
    BINDINGS: ClassVar = [("ctrl+l", "clear", "Clear"), ("ctrl+c", "quit", "Quit")]

    def __init__(self, engine_factory: Callable[[], Engine]) -> None:
        super().__init__()
        self._engine_factory = engine_factory
        self._engine: Engine | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="问题或 question — Enter to ask", id="question")
        with VerticalScroll():
            yield Static("Loading model and index…", id="answer")
        yield Footer()

    def on_mount(self) -> None:
        self.load_engine()

    @work(thread=True, exclusive=True, group="load")
    def load_engine(self) -> None:
        try:
            engine = self._engine_factory()
        except Exception as exc:  # shown to the user, with the fix, instead of a traceback
            self.call_from_thread(self._show, f"Cannot start: {exc}")
            return
        self._engine = engine
        self.call_from_thread(self._show, "Ready. Ask in Chinese or English.")

    def _show(self, text: str) -> None:
        self.query_one("#answer", Static).update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() and self._engine is not None:
            self._show("…")
            self.ask(event.value)

    @work(thread=True, exclusive=True, group="ask")
    def ask(self, question: str) -> None:
        assert self._engine is not None
        try:
            text = render_answer(self._engine.ask(question))
        except QuestionError as exc:
            text = str(exc)
        self.call_from_thread(self._show, text)

    def action_clear(self) -> None:
        self.query_one("#question", Input).value = ""
        self._show("")


def run(settings: Settings) -> int:
    """Open the app on the configured index."""
    AssistantApp(lambda: Engine.open(settings)).run()
    return 0
