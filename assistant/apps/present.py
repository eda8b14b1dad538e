"""The one place that turns an Answer (or a unit) into what a person reads: text or JSON.

``assistant ask`` in-process and ``assistant serve`` both print :func:`format_answer`, so a served
answer is byte-identical; ``explain_record`` is the ``--explain`` trace as data, ``show_lines`` the
text of ``assistant show``.
"""

from __future__ import annotations

import io
import json
import re
from bisect import bisect_left
from itertools import accumulate, pairwise

from rich.cells import cell_len

from assistant.answer.abstain import AbstentionPolicy
from assistant.answer.answertype import asked_kinds
from assistant.answer.record import answer_record
from assistant.engine import Engine
from assistant.index.manifest import LoadedIndex
from assistant.ingest.glossary import Glossary, format_table
from assistant.records import Answer, Paragraph


def answer_lines(engine: Engine, answer: Answer) -> list[str]:
    """The answer, its citations and the closest passages, as ``ask`` prints them."""
    lines = [answer.text, ""]
    heading = "引用" if answer.lang == "zh" else "Citations"
    if answer.citations:
        lines.append(f"{heading}:")
        for c in answer.citations:
            meta = engine.documents.get(c.paragraph.doc_id)
            title = meta.title if meta else c.paragraph.doc_id
            where = f"{c.paragraph.cite_label}  《{title}》 {c.paragraph.section_label}"
            lines.append(f"  [{c.n}] {where}  (score {c.score:.3f})")
        lines.append("")
    lines.append("最接近的段落:" if answer.lang == "zh" else "Closest passages:")
    for h in answer.passages:
        snippet = h.paragraph.text.replace("\n", " ")
        snippet = snippet[:60] + ("…" if len(snippet) > 60 else "")
        lines.append(f"  {h.rank}. {h.paragraph.cite_label:<22} {h.score:.3f}  {snippet}")
    return lines


def format_answer(engine: Engine, answer: Answer, as_json: bool = False, explain: bool = False) -> str:
    """Exactly what ``assistant ask`` prints for an answer, trailing newline included.

    Shared by the in-process path and ``assistant serve``, so a served answer is byte-identical.
    """
    if as_json:
        record = answer_record(answer, engine.documents)
        if explain:
            record["explain"] = explain_record(answer, engine.policy)
        return json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    lines = answer_lines(engine, answer)
    if explain:
        lines += _explain_lines(answer, engine.policy)
    return "\n".join(lines) + "\n"


def explain_record(answer: Answer, policy: AbstentionPolicy | None = None) -> dict[str, object]:
    """The retrieval trace as plain data: query terms, glossary expansions, cues, per-signal scores,
    the answer-type check (what kind of fact the question asks for, how well the top passage
    states one) and, given the policy, the abstention rule's inputs and bars."""
    trace = answer.trace
    return {
        "lexical_tokens": list(trace.lexical_tokens) if trace else [],
        "lexical_coverage": trace.lexical_coverage if trace else None,
        "expansions": [{"en": e.en, "abbr": e.abbr, "zh": e.zh} for e in trace.expansions] if trace else [],
        "doc_hints": sorted(trace.hints.doc_ids) if trace else [],
        "kind_hints": sorted(trace.hints.kinds) if trace else [],
        "candidates": [
            {
                "rank": h.rank,
                "ref": h.paragraph.ref,
                **h.scores,
                "slice_kind": None if h.chunk is None else "sentence" if h.chunk.sentence else "window",
            }
            for h in answer.passages
        ],
        "asks_for": sorted(asked_kinds(answer.question)),
        "evidence_support": round(answer.support, 3),
        "abstention": _abstention_record(answer, policy) if policy else None,
    }


def _abstention_record(answer: Answer, policy: AbstentionPolicy) -> dict[str, object] | None:
    """The abstention rule's inputs for the top hit, next to the bars they were held against."""
    if not answer.passages:
        return None
    lang, evidence = answer.lang, answer.evidence
    return {
        "dense": round(evidence.top_dense, 4),
        "bar": policy.min_dense.get(lang),
        "lead": round(evidence.lead, 4),
        "clear_margin": policy.clear_margin.get(lang),
        "margin_floor": policy.margin_floor.get(lang),
        "min_support": policy.min_support.get(lang),
        "policy": policy.source,
        **(_judge_record(answer, policy) if answer.reader else {}),
    }


def _judge_record(answer: Answer, policy: AbstentionPolicy) -> dict[str, object]:
    """The reader's judgement next to the judge bar (None when no bar was fitted for this reader)."""
    note = answer.reader
    assert note is not None
    reader = f"{note.name}|{note.prompt_version}"
    return {
        "judge": note.judge,
        "min_judge": policy.min_judge[answer.lang] if policy.judges(answer.lang, reader) else None,
        "reader": reader,
        "reader_notice": note.notice or None,
    }


def _explain_lines(answer: Answer, policy: AbstentionPolicy | None = None) -> list[str]:
    data = explain_record(answer, policy)
    lines = ["", "explain:", f"  lexical query: {' '.join(data['lexical_tokens']) or '-'}"]  # type: ignore[arg-type]
    if data["lexical_coverage"] is not None:
        lines[-1] += f" (the corpus covers {data['lexical_coverage']:.2f} of the question)"
    for e in data["expansions"]:  # type: ignore[union-attr]
        lines.append(f"  expanded: {e['en'] or e['abbr']} -> {e['zh']}")
    if data["doc_hints"] or data["kind_hints"]:
        lines.append(f"  cues: documents {data['doc_hints'] or '-'}, kinds {data['kind_hints'] or '-'}")
    if data["asks_for"]:
        lines.append(
            f"  asks for: {', '.join(data['asks_for'])}; "  # type: ignore[arg-type]
            f"the top passage states it with support {data['evidence_support']:.2f}"
        )
    lines.append(f"  {'rank':>4}  {'ref':<24} {'dense':>7} {'bm25':>7} {'cue':>6} {'fused':>7}   quoted from")
    for c in data["candidates"]:  # type: ignore[union-attr]
        kind = c.get("slice_kind")
        lines.append(
            f"  {c['rank']:>4}  {c['ref']:<24} {c.get('dense', 0):>7.3f} {c.get('lexical', 0):>7.2f}"
            f" {c.get('hint', 0):>6.2f} {c.get('fused', 0):>7.3f}"
            + (f"   {kind} {c.get('slice', 0):.3f}" if kind else "")
        )
    lines.append("  (dense = best window: what ranks and what the abstention bar is held against)")
    a = data["abstention"]
    if a:
        lead = "-" if a["lead"] is None else f"{a['lead']:.3f}"  # type: ignore[index]
        lines.append(
            f"  abstention ({a['policy']}): dense {a['dense']:.3f} vs bar {a['bar']};"  # type: ignore[index]
            f" lead {lead} vs margin"
            f" {a['clear_margin']} above floor {a['margin_floor']}; support gate {a['min_support']}"  # type: ignore[index]
        )
        if "judge" in a:  # type: ignore[operator]
            judge = "-" if a["judge"] is None else f"{a['judge']:.3f}"  # type: ignore[index]
            bar = a["min_judge"] if a["min_judge"] is not None else "none fitted for this reader"  # type: ignore[index]
            lines.append(f"  reader ({a['reader']}): judge {judge} vs bar {bar}")  # type: ignore[index]
    return lines


def show_lines(index: LoadedIndex, para: Paragraph, context: int = 1) -> list[str]:
    """``assistant show``: a unit with its title, section path, links and ``context`` neighbours.

    Each unit's text is one logical line, indented; :func:`assistant.apps.wrap.fit` wraps it to
    the terminal when printed, continuation lines keeping the indentation.
    """
    before, after = index.neighbours(para.ref, context, context)
    meta = index.documents.get(para.doc_id)
    lines = [
        f"{para.ref}  《{meta.title if meta else para.doc_id}》",
        f"section: {para.section_label or '-'}    kind: {para.kind}",
    ]
    if para.links:
        lines.append(f"linked: {', '.join(para.links)}")
    for u in before:
        lines += ["", f"  {u.ref} (before)", "    " + _one_line(u.text)]
    lines += ["", f"> {para.ref}", "  " + _one_line(para.text)]
    for u in after:
        lines += ["", f"  {u.ref} (after)", "    " + _one_line(u.text)]
    return lines


def _one_line(text: str) -> str:
    # a unit is one logical line: its whitespace runs (line ends included) become single spaces
    return " ".join(text.split())


def glossary_text(glossary: Glossary, width: int | None) -> str:
    """``assistant glossary``: the aligned table, laid out anew in ``width`` cells when wider.

    Within the width the columns wrap by the Chinese line-break rules (a cell's text continues
    under itself); with no width (a pipe) or room enough it is :func:`format_table` unchanged.
    """
    table = format_table(glossary).split("\n")
    if width is None or max(cell_len(line) for line in table) <= width:
        return "\n".join(table)
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from assistant.apps.wrap_rich import Wrapped

    # format_table's rule line ("----  ----") marks where its columns start, in cells
    starts = [m.start() for m in re.finditer(r"-+", table[1])]
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 2, 0, 0), safe_box=True)
    for name in _cells(table[0], starts):
        grid.add_column(name, header_style="")
    for line in table[2:-1]:
        grid.add_row(*(Wrapped(Text(cell)) for cell in _cells(line, starts)))
    buffer = io.StringIO()
    Console(width=width, file=buffer, color_system=None, highlight=False, legacy_windows=False).print(grid)
    lines = [line.rstrip() for line in buffer.getvalue().rstrip("\n").split("\n")]
    return "\n".join([*lines, table[-1]])


def _cells(line: str, starts: list[int]) -> list[str]:
    """A row of the aligned table cut at the column starts (cell offsets), padding stripped."""
    widths = [0, *accumulate(cell_len(ch) for ch in line)]
    cut = [bisect_left(widths, s) for s in starts] + [len(line)]
    return [line[a:b].strip() for a, b in pairwise(cut)]
