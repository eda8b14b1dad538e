"""The status line: model and index state, corpus size, filter, latency and UI language, fitted to a width.

A terminal of 80 columns cannot show every part, and Textual cuts an overlong line at
the edge ("last 9136" without its "ms"). So each part has a priority and the least
useful ones are left out whole, the model name first, until the line fits; what a
user acts on (ready or busy, the latency, a notice, a restricted filter) stays.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text

from assistant.apps.tui.i18n import t
from assistant.records import Lang

SEP = " · "
# Lower numbers are kept longer; 0 is never dropped.
KEEP, LATENCY, LANGUAGE, CORPUS, ALL_DOCS, MODEL = 0, 1, 2, 3, 4, 5


@dataclass
class StatusState:
    """Everything the status line reports; ``model`` is empty until the engine is loaded."""

    lang: Lang
    spinner: str = "●"
    error: bool = False
    queued: bool = False
    busy_s: float | None = None
    last_ms: float | None = None
    notice: str = ""
    model: str = ""
    n_docs: int = 0
    n_paragraphs: int = 0
    n_searched: int = 0


def status_parts(s: StatusState) -> list[tuple[int, Text]]:
    """Every part of the status line in display order, each with its priority."""
    lang = s.lang
    parts: list[tuple[int, Text]] = []
    if s.error:
        parts.append((KEEP, Text("✖ error", style="bold #e06c75")))
    elif not s.model:
        parts.append((KEEP, Text(f"{s.spinner} {t('loading', lang)}", style="bold")))
        if s.queued:
            parts.append((KEEP, Text(t("queued", lang), style="#e5c07b")))
    else:
        busy = f"{s.spinner} {t('asking', lang)}" if s.busy_s is not None else f"● {t('ready', lang)}"
        parts.append((KEEP, Text(busy, style="bold")))
        parts.append((MODEL, Text(s.model.rstrip("/").split("/")[-1])))
        parts.append((CORPUS, Text(t("corpus", lang, d=s.n_docs, p=s.n_paragraphs))))
        if s.n_searched == s.n_docs:
            parts.append((ALL_DOCS, Text(t("filter_all", lang))))
        else:
            filtered = t("filter_some", lang, n=s.n_searched, total=s.n_docs)
            parts.append((KEEP, Text(filtered, style="bold #e5c07b")))  # it changes every answer
        if s.busy_s is not None:
            parts.append((LATENCY, Text(f"{s.busy_s:.1f} s")))
        elif s.last_ms is not None:
            parts.append((LATENCY, Text(f"{t('last', lang)} {s.last_ms:.0f} ms")))
    if s.notice:
        parts.append((KEEP, Text(s.notice, style="#e5c07b")))
    parts.append((LANGUAGE, Text("中文" if lang == "zh" else "EN")))
    return parts


def status_line(s: StatusState, width: int) -> Text:
    """The status line in at most ``width`` cells: whole parts are dropped, least useful first."""
    parts = status_parts(s)
    for drop in range(MODEL + 1, LATENCY, -1):
        kept = [text for priority, text in parts if priority < drop]
        line = Text(SEP).join(kept)
        if cell_len(line.plain) <= width:
            return line
    # Even the essentials are too long (a tiny terminal or a long notice): cut with an ellipsis.
    line.truncate(max(width, 1), overflow="ellipsis")
    return line
