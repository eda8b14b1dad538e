"""Rich text laid out by the rules of :mod:`assistant.apps.wrap`: the TUI's panes and table cells.

Kept apart from :mod:`assistant.apps.wrap` because ``rich.console`` takes tens of milliseconds to
import and the served ``ask`` client, which only wraps plain text, must start fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

from assistant.apps.wrap import break_offsets, hanging_indent, line_spans


def wrap_rich(text: Text, width: int) -> list[Text]:
    """A styled text as display lines of at most ``width`` cells, by the same rules, styles kept."""
    out: list[Text] = []
    for logical in text.split("\n", allow_blank=True):
        plain = logical.plain
        spans = line_spans(plain, max(width, 1))
        pad = " " * hanging_indent(plain, max(width, 1))
        for i, (s, e) in enumerate(spans):
            piece = logical[s:e]
            if i:
                piece = Text(pad, style=logical.style) + piece
            out.append(piece)
    return out


class Wrapped:
    """A rich renderable that lays out a ``Text`` by these rules at the width it is given
    (a table cell's, a Textual pane's), instead of rich's fold-anywhere wrapping."""

    def __init__(self, text: Text) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in wrap_rich(self.text, options.max_width):
            line.no_wrap, line.overflow, line.end = True, "crop", "\n"
            yield line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        plain = self.text.plain
        lines = plain.split("\n")
        longest = max(cell_len(line) for line in lines)
        tokens = (_tokens(line) for line in lines)
        shortest = max((cell_len(t) for ts in tokens for t in ts), default=0)
        return Measurement(min(shortest, longest), longest).clamp(max_width=options.max_width)


def _tokens(line: str) -> Iterator[str]:
    """The unbreakable pieces of a line (what the narrowest layout must still fit)."""
    cuts = [0, *break_offsets(line), len(line)]
    for a, b in pairwise(cuts):
        yield line[a:b].strip()


class PaneText(Text):
    """A ``Text`` that a Textual widget lays out with :class:`Wrapped` at the pane's width.

    Still a ``Text`` (``plain``, ``spans``, ``append``); Textual asks a renderable for
    ``visualize()`` before converting a ``Text`` to its own content, whose wrapping folds
    Chinese anywhere as rich's does. The renderable returned is not a ``Text``, so Textual
    also measures its height by rendering it at the pane's width.
    """

    def visualize(self) -> Wrapped:
        """The renderable Textual draws (the Textual ``visualize`` protocol)."""
        return Wrapped(self)

    @classmethod
    def of(cls, text: Text) -> PaneText:
        """``text`` (plain, spans and settings) as a :class:`PaneText`."""
        copy = cls(
            text.plain,
            style=text.style,
            justify=text.justify,
            overflow=text.overflow,
            no_wrap=text.no_wrap,
            end=text.end,
            tab_size=text.tab_size,
        )
        copy.spans[:] = text.spans
        return copy
