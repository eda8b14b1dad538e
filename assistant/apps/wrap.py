"""Wrapping text to the terminal by display width, with Chinese line-break rules.

Every command prints *logical* lines (``format_answer`` and ``show_lines`` never wrap, so a
served answer is the same bytes as an in-process one) and :func:`fit` wraps them once, in the
process that prints, to that process's terminal. The terminal UI wraps its panes by the same
rules through :mod:`assistant.apps.wrap_rich`.

Why not rich's own wrapping: rich measures cells correctly but treats a run of Chinese without
spaces as one long word and folds it at the width, anywhere: ``占8`` / ``6.3%``, a line starting
with ``，``. So the break opportunities are computed here (:func:`break_allowed`) and only the
cell widths come from ``rich.cells``:

* between Latin words only at spaces; never inside a run of digits or Latin letters
  (``86.3%``, ``164``, ``xu-geng-2021:p13``, ``ＷＴＯ``);
* between CJK characters anywhere, except before closing punctuation (``，。）》”%``) and after
  opening punctuation (``（《“``), and never inside ``——`` or ``……``;
* continuation lines keep the indentation of the line they continue, list markers included
  (``  [1] ``, ``  1. ``), a hanging indent;
* a token longer than the line is cut at the width: the last resort.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from itertools import accumulate

# rich.cells only: the served ``ask`` client imports this module and must start fast
from rich.cells import cell_len, get_character_cell_size

# May not start a line (closing brackets and quotes, sentence and clause punctuation, percent,
# interpuncts), half- and full-width forms alike.
CLOSING = frozenset("，。、；：？！）」』】〉》〕〗〙〛”’…‥%％·・～〜・,.;:?!)]}｝］｠｣﹐﹑﹒﹔﹕﹖﹗﹚﹜﹞")
# May not end a line: opening brackets and quotes.
OPENING = frozenset("（「『【〈《〔〖〘〚“‘([{｛［｟｢﹙﹛﹝")
# Doubled marks that are one sign: "——" and "……" never split.
_PAIRED = frozenset("—…⋯")
# Leading indentation and a list marker: "  [1] ", "  12. ", "> ", "- ".
_MARKER = re.compile(r"\s*(?:\[\d+\]\s+|\d+\.\s+|[-*•>]\s+)?")


def _width(ch: str) -> int:
    return get_character_cell_size(ch)


def _word(ch: str) -> bool:
    """Part of a Latin/number run: any narrow non-space character, or a full-width letter or digit
    (``ＷＴＯ``, ``１６``); CJK ideographs and kana (category Lo) are wide and are not."""
    if ch.isspace():
        return False
    return _width(ch) < 2 or (ch.isalnum() and unicodedata.category(ch) != "Lo")


def break_allowed(before: str, after: str) -> bool:
    """May a line end after the character ``before`` and the next start with ``after``?

    For two non-space neighbours; a break at a space is decided by :func:`break_offsets`.
    """
    if after in CLOSING or before in OPENING or _width(after) == 0:
        return False
    if before == after and before in _PAIRED:
        return False
    return not (_word(before) and _word(after))


def break_offsets(line: str) -> list[int]:
    """Every index at which a new line may start (spaces before it are dropped at the break)."""
    offsets = []
    seen_text = False  # no break inside the leading indentation
    last = ""  # the last non-space character before the current position
    for i, ch in enumerate(line):
        if ch.isspace():
            continue
        if i and seen_text:
            prev = line[i - 1]
            if prev.isspace():
                if ch not in CLOSING and last not in OPENING:
                    offsets.append(i)
            elif break_allowed(prev, ch):
                offsets.append(i)
        seen_text, last = True, ch
    return offsets


def hanging_indent(line: str, width: int) -> int:
    """Cells a continuation of ``line`` is indented by: its indentation and list marker, at most
    half the width so that a deep indent still leaves room for text."""
    match = _MARKER.match(line)
    return min(cell_len(match.group(0)) if match else 0, width // 2)


def line_spans(line: str, width: int) -> list[tuple[int, int]]:
    """How one logical line (no newlines) splits into lines of at most ``width`` cells: a
    ``(start, end)`` slice per line, the spaces at each break left out; continuations get the
    hanging indent, which is not part of the slice."""
    cells = [0, *accumulate(_width(ch) for ch in line)]
    if cells[-1] <= width:
        return [(0, len(line))]  # trailing spaces kept when they fit: in the TUI they may be styled
    end_of = len(line.rstrip())
    hang = hanging_indent(line, width)
    offsets = break_offsets(line)
    spans: list[tuple[int, int]] = []
    start, k = 0, 0
    while True:
        room = width - (hang if spans else 0)
        if cells[end_of] - cells[start] <= room:
            spans.append((start, end_of))
            return spans
        while k < len(offsets) and offsets[k] <= start:
            k += 1
        best = None
        j = k
        while j < len(offsets):
            cut = len(line[start : offsets[j]].rstrip()) + start
            if cells[cut] - cells[start] > room:
                break
            if cut > start:
                best = offsets[j]
            j += 1
        if best is None:
            # No allowed break fits: cut the token at the width (at least one character).
            cut = start + 1
            while cut < end_of and cells[cut + 1] - cells[start] <= room:
                cut += 1
            spans.append((start, cut))
            start = cut
            while start < end_of and line[start].isspace():
                start += 1
            continue
        spans.append((start, len(line[start:best].rstrip()) + start))
        start = best


def wrap_line(line: str, width: int) -> list[str]:
    """One logical line as display lines of at most ``width`` cells, with a hanging indent."""
    spans = line_spans(line, width)
    pad = " " * hanging_indent(line, width)
    return [line[s:e] if i == 0 else pad + line[s:e] for i, (s, e) in enumerate(spans)]


def wrap_text(text: str, width: int | None) -> str:
    """``text`` with every line wrapped to ``width`` cells; unchanged when ``width`` is None."""
    if width is None:
        return text
    return "\n".join("\n".join(wrap_line(line, width)) for line in text.split("\n"))


def output_width() -> int | None:
    """The width to wrap standard output to: ``$COLUMNS`` if set, else the terminal's width;
    None (no wrapping) when output goes to a pipe or a file and ``$COLUMNS`` is unset.

    Unwrapped is right for a pipe: ``grep``/``awk`` get one record per line, ``less`` and editors
    wrap to their own width, and a saved answer does not carry the width of the terminal it was
    saved from. ``shutil.get_terminal_size`` reads ``$COLUMNS`` first, then asks the terminal on
    standard output; the fallback of 0 marks "no terminal".
    """
    columns = shutil.get_terminal_size(fallback=(0, 0)).columns
    return columns if columns > 0 else None


def fit(text: str, width: int | None = None) -> str:
    """``text`` wrapped for printing: to ``width``, else to :func:`output_width`."""
    return wrap_text(text, width if width is not None else output_width())
