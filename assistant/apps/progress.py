"""Progress for the slow commands (index, add, remove, eval) and the cold in-process ``ask``.

On a terminal a transient rich display on stderr (a bar with counts, rate and time left; a spinner
while a model loads) that disappears when the work is done. Elsewhere (set-up output piped to a
log, CI) a plain line on stderr now and then: every ~10 s, or every 10 % of the work, for example
``embedding 240/803 chunks, 5.1/s, about 2 min left``. Nothing ever goes to stdout, which carries
the command's own output.

The stream, the terminal test and the clock are parameters so tests pass fakes. rich is imported
only when a terminal display is drawn: this module is imported by the CLI's light paths.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from time import monotonic
from typing import Any, Protocol, TextIO

Clock = Callable[[], float]

EVERY_SECONDS = 10.0
"""A plain line at least this often while counted work goes on (a log should never look stuck)."""
STEPS = 10
"""... and one at every tenth of the work, so a fast job still shows its pace."""
QUIET_SECONDS = 2.0
"""No plain line sooner than this after the start or the last line: quick jobs stay silent."""


def about(seconds: float) -> str:
    """Time left in words a log reader takes in at a glance: "about 40 s left", "about 2 min left"."""
    # int(x + 0.5): halves round up (round() would make 22.5 s "about 20 s", 27.5 s "about 30 s")
    if seconds < 57.5:
        return f"about {max(5, int(seconds / 5 + 0.5) * 5)} s left"
    minutes = int(seconds / 60 + 0.5)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60} min left"


def count_line(what: str, done: int, total: int, unit: str, rate: float | None) -> str:
    """One plain progress line: ``embedding 240/803 chunks, 5.1/s, about 2 min left``."""
    line = f"{what} {done}/{total} {unit}"
    if rate:
        line += f", {rate:.1f}/s, {about((total - done) / rate)}"
    return line


class Tracker(Protocol):
    """What a slow command reports; the plain and the terminal display both implement it."""

    def file(self, path: Path, k: int, n: int) -> None:
        """File ``k`` (from 0) of ``n`` is about to be read and cleaned."""

    def count(self, done: int, total: int) -> None:
        """``done`` of ``total`` units (chunks, questions) are finished."""

    def restart(self, what: str) -> None:
        """A new counted pass begins (eval's second pass, with the reader)."""

    def above(self, line: str) -> None:
        """A line printed above a terminal's bar (a log gets the command's stdout instead)."""


class PlainTracker:
    """Plain lines for a log: one when ``every`` seconds have passed since the last (or the
    start), or when the work crosses a tenth, but never within ``quiet`` seconds of the last, and
    none for the last unit (the command's own closing line follows at once)."""

    def __init__(
        self,
        what: str,
        unit: str,
        stream: TextIO,
        clock: Clock = monotonic,
        every: float = EVERY_SECONDS,
        quiet: float = QUIET_SECONDS,
    ) -> None:
        self.what, self.unit, self.stream, self.clock = what, unit, stream, clock
        self.every, self.quiet = every, quiet
        self._last_line = clock()
        self._step = 0
        # The rate is measured from the first count on: the wait before it is mostly a model
        # loading, which says nothing about how fast the rest will go.
        self._first: tuple[float, int] | None = None

    def _say(self, line: str, now: float) -> None:
        print(line, file=self.stream, flush=True)
        self._last_line = now

    def file(self, path: Path, k: int, n: int) -> None:
        """A line only when reading has gone on for ``every`` seconds without one (a cached read
        of the whole library takes a second or two and says nothing)."""
        now = self.clock()
        if now - self._last_line >= self.every:
            self._say(f"reading files {k + 1}{f'/{n}' if n else ''}: {path.name}", now)

    def count(self, done: int, total: int) -> None:
        """A line when one is due (see the class docstring)."""
        now = self.clock()
        if self._first is None:
            self._first = (now, done)
        if done >= total or total <= 0:
            return
        step = done * STEPS // total  # integers: 30/100 is step 3, not 2.9999
        since = now - self._last_line
        if since >= self.every or (step > self._step and since >= self.quiet):
            t0, d0 = self._first
            rate = (done - d0) / (now - t0) if now > t0 and done > d0 else None
            self._say(count_line(self.what, done, total, self.unit, rate), now)
            self._step = step

    def restart(self, what: str) -> None:
        """Count a new pass from zero under another name."""
        self.what, self._first, self._step = what, None, 0

    def above(self, line: str) -> None:
        """Nothing: in a log the command prints its own lines on stdout."""


class BarTracker:
    """A transient rich display on a terminal: the file being read, then a bar for the counted
    work with its count, rate and time left."""

    def __init__(self, progress: Any, what: str, unit: str) -> None:
        self._bar = progress
        self.what, self.unit = what, unit
        self._reading: Any = None
        self._counting: Any = None

    def file(self, path: Path, k: int, n: int) -> None:
        """Show the file's name and how many of the files are read."""
        if self._reading is None:
            self._reading = self._bar.add_task("reading", total=n or None, unit="files")
        self._bar.update(self._reading, description=f"reading {path.name}", completed=k, total=n or None)

    def count(self, done: int, total: int) -> None:
        """Move the bar (reading is over once counted work begins)."""
        if self._counting is None:
            if self._reading is not None:
                self._bar.update(self._reading, visible=False)
            self._counting = self._bar.add_task(self.what, total=total, unit=self.unit)
        self._bar.update(self._counting, completed=done, total=total)

    def restart(self, what: str) -> None:
        """Replace the finished bar by a new one for the next pass."""
        if self._counting is not None:
            self._bar.update(self._counting, visible=False)
        self.what, self._counting = what, None

    def above(self, line: str) -> None:
        """Print ``line`` above the bar (plain text: file names are not markup)."""
        self._bar.console.print(line, highlight=False, markup=False)


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for a closed or fake stream without ``isatty``)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextmanager
def track(
    what: str,
    unit: str,
    stream: TextIO | None = None,
    tty: bool | None = None,
    clock: Clock | None = None,
) -> Iterator[Tracker]:
    """A :class:`Tracker` for ``stream`` (stderr by default): a rich bar when it is a terminal
    (``tty`` overrides the test), periodic plain lines otherwise. ``what`` names the counted work
    ("embedding"), ``unit`` its units ("chunks"); ``clock`` defaults to this module's
    ``monotonic``, looked up at each call so an end-to-end test can replace it."""
    stream = stream if stream is not None else sys.stderr
    clock = clock or monotonic
    if not (is_terminal(stream) if tty is None else tty):
        yield PlainTracker(what, unit, stream, clock)
        return
    from rich import progress as rp
    from rich.console import Console
    from rich.text import Text

    class Rate(rp.ProgressColumn):
        """Units per second, once rich has measured two updates."""

        def render(self, task: rp.Task) -> Text:
            speed = task.speed
            unit = task.fields.get("unit", "")
            return Text(f"{speed:.1f} {unit}/s" if speed else "", style="progress.data.speed")

    columns = (
        rp.SpinnerColumn(),
        rp.TextColumn("{task.description}"),
        rp.BarColumn(),
        rp.MofNCompleteColumn(),
        rp.TextColumn("{task.fields[unit]}"),
        Rate(),
        rp.TimeRemainingColumn(),
        rp.TimeElapsedColumn(),
    )
    console = Console(file=stream, force_terminal=True)
    # redirect_stdout=False: stdout is the command's output and must never pass through the display
    with rp.Progress(
        *columns,
        console=console,
        transient=True,
        redirect_stdout=False,
        speed_estimate_period=60.0,
        get_time=clock,
    ) as bar:
        yield BarTracker(bar, what, unit)


@contextmanager
def spinner(
    text: str, stream: TextIO | None = None, tty: bool | None = None
) -> Iterator[Callable[[str], None]]:
    """A spinner with ``text`` on a terminal's stderr, erased when the block ends; yields a function
    that changes the text. Nothing at all when the stream is not a terminal."""
    stream = stream if stream is not None else sys.stderr
    if not (is_terminal(stream) if tty is None else tty):
        yield lambda text: None
        return
    from rich.console import Console
    from rich.live import Live
    from rich.spinner import Spinner

    spin = Spinner("dots", text=f"{text} …")
    console = Console(file=stream, force_terminal=True)
    # transient: the line is erased before the answer is printed; redirect_stdout=False: stdout
    # written meanwhile must go to stdout, never into the display on stderr
    with Live(spin, console=console, transient=True, redirect_stdout=False, refresh_per_second=10):
        yield lambda text: spin.update(text=f"{text} …")


def numbered(tracker: Tracker, corpus_dir: Path) -> Callable[[Path], None]:
    """An ``on_file(path)`` callback for an index build that tells ``tracker`` the file's number
    among the library's sources (counted up front; 0, unknown, when the folder cannot be listed,
    which the build itself then reports)."""
    from assistant.errors import CorpusError
    from assistant.ingest.corpus import source_files

    try:
        n = len(source_files(corpus_dir))
    except CorpusError:
        n = 0
    seen = [0]

    def on_file(path: Path) -> None:
        tracker.file(path, seen[0], n)
        seen[0] += 1

    return on_file
