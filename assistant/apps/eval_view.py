"""What ``assistant eval`` shows: a summary a person can read, and the full Markdown report.

The metrics themselves are computed in :mod:`assistant.answer.evals`; this module only words,
orders and marks them. On the terminal (drawn by rich to ``$COLUMNS``, 80 when unknown): one
sentence per language, a table of every metric in words with pass/fail against the committed
thresholds, and a legend. ``--report PATH`` gets the same plus the wide table of every group and
every question that failed a check, with its expected evidence and what was cited.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.answer.evals import METRIC, METRICS, Gate, ItemResult, markdown_table, misses

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table as RichTable

Table = dict[str, dict[str, float]]
LANG_NAMES = {"zh": "Chinese", "en": "English"}
# The four numbers of the one-line summary, and the words they go by there.
LEGEND_NOTE = (
    "Rows in % count answerable questions unless they say otherwise; [the key] names the row in "
    "thresholds files, --check messages and the report."
)
HEADLINE = (
    ("rank1", "right paragraph first"),
    ("quote_has_gold", "quote holds the answer"),
    ("abstention_recall", "unanswerable declined"),
    ("false_abstention", "wrongly declined"),
)


@dataclass(frozen=True)
class Run:
    """One mode of an evaluation run: its name, grouped metrics and per-question results."""

    title: str
    table: Table
    results: Sequence[ItemResult]


# --- words and numbers ----------------------------------------------------------------------------


def group_title(group: str) -> str:
    """``all``, a language by name (``lang=zh`` -> Chinese) or a doc_id."""
    kind, _, value = group.partition("=")
    if kind == "lang":
        return LANG_NAMES.get(value, value)
    return value or group


def ordered_groups(table: Table, languages_only: bool = False) -> list[str]:
    """``all`` first, then languages (Chinese, English, others by code), then documents by id."""
    langs = sorted(
        (g for g in table if g.startswith("lang=")),
        key=lambda g: (list(LANG_NAMES).index(g[5:]) if g[5:] in LANG_NAMES else len(LANG_NAMES), g),
    )
    docs = [] if languages_only else sorted(g for g in table if g.startswith("doc="))
    return [g for g in table if g == "all"] + langs + docs


def value_text(key: str, value: float | None) -> str:
    """One measurement as shown: a percentage for rates, 3 decimals for scores, whole ms, a count."""
    if value is None:
        return "–"
    kind = METRIC[key].kind
    if kind == "rate":
        return f"{100 * value:.1f}%"
    if kind == "score":
        return f"{value:.3f}"
    return f"{value:.0f} ms" if kind == "ms" else f"{value:.0f}"


def limit_text(gate: Gate) -> str:
    """A threshold in the metric's own unit: ``≥ 94%``, ``≤ 3%``, ``≥ 0.95``."""
    sign = "≤" if gate.maximum else "≥"
    if METRIC[gate.metric].kind == "rate":
        return f"{sign} {100 * gate.limit:g}%"
    return f"{sign} {gate.limit:g}"


def headline(metrics: dict[str, float]) -> str:
    """The one-line summary of a group: ``201 questions: right paragraph first 95.9%; ...``."""
    parts = [f"{words} {value_text(key, metrics[key])}" for key, words in HEADLINE if key in metrics]
    return f"{metrics.get('n', 0):.0f} questions: " + "; ".join(parts)


def gate_verdict(gates: Sequence[Gate]) -> str:
    """``all 20 pass`` or ``2 of 20 FAIL``."""
    failed = sum(not g.passed for g in gates)
    return f"all {len(gates)} pass" if not failed else f"{failed} of {len(gates)} FAIL"


def failed_gate_line(gate: Gate) -> str:
    """A failed threshold in words, with its key as thresholds files and ``--check`` name it."""
    got = "not measured" if gate.value is None else value_text(gate.metric, gate.value)
    where = f"{group_title(gate.group)}, {METRIC[gate.metric].label}"
    return f"FAIL {where}: {got}, needs {limit_text(gate)} ({gate.group}.{gate.metric})"


def _marks(gates: Sequence[Gate]) -> dict[tuple[str, str], Gate]:
    return {(g.group, g.metric): g for g in gates}


# --- the terminal ---------------------------------------------------------------------------------


def print_summary(
    console: Console, header: str, runs: Sequence[Run], gates: Sequence[Gate] | None, gate_source: str
) -> None:
    """The terminal view: header, per-language sentences, the metric table, failed gates, legend.

    ``gates`` (None when the set has no thresholds file) marks the first run, the one ``--check``
    gates.
    """
    from rich.table import Table as RichTable
    from rich.text import Text

    console.print(Text(header))
    for i, run in enumerate(runs):
        run_gates = gates if i == 0 else None
        console.print()
        console.print(Text(run.title, style="bold"))
        sentences = RichTable.grid(padding=(0, 2))
        sentences.add_column(no_wrap=True)
        sentences.add_column()
        for group in ordered_groups(run.table, languages_only=True):
            sentences.add_row(Text(group_title(group)), Text(headline(run.table[group])))
        console.print(sentences)
        if run_gates is not None:
            verdict = gate_verdict(run_gates)
            style = "green" if verdict.startswith("all") else "bold red"
            console.print(Text.assemble(f"Thresholds ({gate_source}): ", (verdict, style)))
        console.print()
        console.print(_metric_table(run.table, run_gates or ()))
        for gate in run_gates or ():
            if not gate.passed:
                console.print(Text(failed_gate_line(gate), style="red"))
    console.print()
    console.print(Text("What each row measures", style="bold"))
    console.print(Text(LEGEND_NOTE))
    legend = RichTable.grid(padding=(0, 2))
    legend.add_column()
    legend.add_column()
    for m in METRICS[1:]:
        legend.add_row(Text(m.label), Text(f"{m.explain} [{m.key}]"))
    console.print(legend)


def terminal_text(draw: Callable[[Console], None]) -> str:
    """What ``draw`` prints, laid out for this terminal: ``$COLUMNS`` wide (else the terminal's
    width, else 80), in colour only on a terminal, without the spaces rich pads lines with."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=Console().width,
        force_terminal=sys.stdout.isatty(),
        highlight=False,
        soft_wrap=False,
    )
    draw(console)
    return "\n".join(line.rstrip() for line in buffer.getvalue().split("\n"))


def _metric_table(table: Table, gates: Sequence[Gate]) -> RichTable:
    """Every metric in words (rows) for all and each language (columns), gated cells marked."""
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    groups = ordered_groups(table, languages_only=True)
    marks = _marks(gates)
    out = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    out.add_column("measured")
    for group in groups:
        out.add_column(group_title(group), justify="right", no_wrap=True)
    for m in METRICS:
        row = [Text(m.label)]
        for group in groups:
            cell = Text(value_text(m.key, table[group].get(m.key)))
            gate = marks.get((group, m.key))
            if gate is not None:
                cell.append(" pass" if gate.passed else " FAIL", "green" if gate.passed else "bold red")
            row.append(cell)
        out.add_row(*row)
        if m.key == "n":
            answerable = (Text(f"{table[g].get('n_answerable', 0):.0f}") for g in groups)
            out.add_row(Text("  of them answerable"), *answerable)
    return out


# --- the Markdown report --------------------------------------------------------------------------


def report_markdown(header: str, runs: Sequence[Run], gates: Sequence[Gate] | None, gate_source: str) -> str:
    """The ``--report`` file: summary, per-language table with thresholds, every group, legend,
    the other mode if any, and every question of the first run that failed a check."""
    first = runs[0]
    lines = ["# Evaluation report", "", header, "", "## Summary", "", f"{first.title}:", ""]
    for group in ordered_groups(first.table, languages_only=True):
        lines.append(f"- **{group_title(group)}**: {headline(first.table[group])}")
    if gates is not None:
        lines.append(f"- **Thresholds** (`{gate_source}`): {gate_verdict(gates)}")
        lines += [f"  - {failed_gate_line(g)}" for g in gates if not g.passed]
    for run in runs:
        run_gates = gates if run is first else None
        lines += ["", f"## Per language: {run.title}", "", _language_markdown(run.table, run_gates or ())]
        lines += ["", f"## Every group: {run.title}", ""]
        lines.append(markdown_table({g: run.table[g] for g in ordered_groups(run.table)}))
    lines += ["", "## Legend", "", LEGEND_NOTE, ""]
    lines += [f"- {m.label} [`{m.key}`]: {m.explain}." for m in METRICS]
    lines += ["", *_failures_markdown(first)]
    return "\n".join(lines) + "\n"


def _language_markdown(table: Table, gates: Sequence[Gate]) -> str:
    groups = ordered_groups(table, languages_only=True)
    marks = _marks(gates)
    rows = [
        "| measured | " + " | ".join(group_title(g) for g in groups) + " |",
        "|---" + "|---:" * len(groups) + "|",
    ]
    for m in METRICS:
        cells = []
        for group in groups:
            cell = value_text(m.key, table[group].get(m.key))
            gate = marks.get((group, m.key))
            if gate is not None:
                cell += f" ({limit_text(gate)}: {'pass' if gate.passed else '**FAIL**'})"
            cells.append(cell)
        rows.append(f"| {m.label} (`{m.key}`) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _quoted(text: str) -> list[str]:
    return [f"> {line}".rstrip() for line in text.splitlines() or [""]]


def _failures_markdown(run: Run) -> list[str]:
    failed = [(r, misses(r)) for r in run.results]
    failed = [(r, why) for r, why in failed if why]
    lines = [f"## Failed questions: {len(failed)} of {len(run.results)}", ""]
    if not failed:
        return [*lines, "Every question passed every check."]
    lines += [f"{run.title}. A question fails when any of its checks does (the reasons follow its id).", ""]
    for n, (r, why) in enumerate(failed, 1):
        item = r.item
        lines += [f"### {n}. `{item.id}` ({item.lang}): {'; '.join(why)}", ""]
        lines += [f"**Question:** {item.question}", ""]
        if item.answerable:
            lines += [f"**Expected evidence** (in `{item.doc_id}`):", ""]
            for span in item.evidence:
                lines += [*_quoted(span), ""]
        else:
            lines += ["**Expected:** a decline (the documents do not answer this).", ""]
        if not r.answerable:
            lines += ["**Cited:** nothing; the assistant declined.", ""]
        else:
            lines += ["**Cited:**" + ("" if r.cited else " nothing"), ""]
            for ref, quote in r.cited:
                lines += [*_quoted(quote), f"> — `{ref}`", ""]
        if r.ranked:
            lines += ["**Retrieved, best first:** " + ", ".join(f"`{ref}`" for ref in r.ranked[:5]), ""]
    return lines[:-1]
