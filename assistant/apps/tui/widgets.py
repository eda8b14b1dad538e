"""Small widgets for the terminal UI: the question input with history and the j/k option lists."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input, OptionList

HELP_CHARS = frozenset("?？")  # ？: a Chinese input method types the full-width mark


class QuestionInput(Input):
    """The question box: ↑/↓ walk through earlier questions, keeping the unsent draft.

    ``?`` in an empty box opens the help instead of typing itself: Esc and every answer
    can leave the focus here, and a question never starts with a question mark.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Previous question", show=False),
        Binding("down", "history(1)", "Next question", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history: list[str] = []
        self._pos = 0  # == len(history) while editing the draft
        self._draft = ""

    def remember(self, question: str) -> None:
        """Add a sent question to the history (no immediate duplicates) and reset the cursor."""
        if not self.history or self.history[-1] != question:
            self.history.append(question)
        self._pos = len(self.history)
        self._draft = ""

    def action_history(self, step: int) -> None:
        """Show the previous (-1) or next (+1) question; past the newest, restore the draft."""
        if not self.history:
            return
        if self._pos == len(self.history):
            self._draft = self.value
        self._pos = max(0, min(len(self.history), self._pos + step))
        self.value = self._draft if self._pos == len(self.history) else self.history[self._pos]
        self.cursor_position = len(self.value)

    async def _on_key(self, event: events.Key) -> None:
        if event.character in HELP_CHARS and not self.value:
            event.stop()
            event.prevent_default()
            await self.run_action("app.help")
            return
        await super()._on_key(event)


class NavList(OptionList):
    """An option list moved with ↑/↓ or j/k that hands focus on at its ends instead of wrapping.

    Wrapping from the last citation back to the first would hide the sources list;
    posting :class:`NavList.Boundary` lets the screen move focus to the neighbouring list.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
    ]

    class Boundary(Message):
        """The cursor tried to move past the first (-1) or last (+1) enabled option."""

        def __init__(self, nav_list: NavList, direction: int) -> None:
            super().__init__()
            self.nav_list = nav_list
            self.direction = direction

    def _enabled(self) -> list[int]:
        return [i for i, o in enumerate(self.options) if not o.disabled]

    def _step(self, direction: int) -> None:
        enabled = self._enabled()
        current = self.highlighted
        if direction > 0:
            nxt = [i for i in enabled if current is None or i > current]
        else:
            nxt = [i for i in reversed(enabled) if current is not None and i < current]
        if nxt:
            self.highlighted = nxt[0]
            return
        if direction < 0:
            self.scroll_home(animate=False)  # reveal the disabled answer text above the first citation
        self.post_message(self.Boundary(self, direction))

    def action_cursor_down(self) -> None:
        """Highlight the next enabled option, or report the bottom boundary."""
        self._step(1)

    def action_cursor_up(self) -> None:
        """Highlight the previous enabled option, or report the top boundary."""
        self._step(-1)
