"""The main screen's stylesheet (Textual CSS), kept apart so tui.py stays about behaviour.

Narrow terminals stack answer, sources and evidence with one-row pane titles;
from ``WIDE`` columns the app adds ``-wide`` to ``#body`` and answer and evidence sit
side by side in rounded panels.

Toasts are a single bar over the key-hint row rather than Textual's boxes in the
bottom-right corner, which at 80 columns cover half the evidence text; the app shows
one at a time, so the status line and the evidence stay readable.
"""

from __future__ import annotations

WIDE = 110  # columns from which answer and evidence sit side by side

APP_CSS = """
Screen { layout: vertical; }
#question { margin: 0 0; }
#body { height: 1fr; layout: vertical; }
#body.-wide { layout: horizontal; }
#left { height: 3fr; }
#body.-wide #left { width: 1fr; height: 1fr; }
#evidence-pane { height: 2fr; }
#body.-wide #evidence-pane { width: 1fr; height: 1fr; }
#answer { height: 2fr; max-height: 100%; }
#sources { height: 1fr; min-height: 4; max-height: 100%; text-wrap: nowrap; text-overflow: ellipsis; }
#question.-textual-compact { background: $boost; }
.pane {
    border: none; border-top: solid $primary 40%; padding: 0 1; background: $surface;
    border-title-color: $text-muted;
}
.pane:focus, .pane:focus-within { border-top: solid $accent; border-title-color: $accent; }
#body.-wide .pane { border: round $primary 40%; }
#body.-wide .pane:focus, #body.-wide .pane:focus-within { border: round $accent; }
#answer > .option-list--option-disabled { color: $foreground; }
#answer.-stale, #sources.-stale { opacity: 60%; }
#error { height: 1fr; display: none; border: round $error; padding: 1 2; }
Screen.-error #error { display: block; }
Screen.-error #body { display: none; }
#status { height: 1; background: $panel; color: $text; padding: 0 1; }
#keys { height: 1; color: $text-muted; padding: 0 1; }
ToastRack { margin-bottom: 0; align: left bottom; }
Toast { width: 1fr; max-width: 100%; margin-top: 0; padding: 0 1; }
"""
