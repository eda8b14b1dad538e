"""The glossary as the ``glossary`` command shows it: the aligned table and the notes under it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

from assistant.text import display_width


# What the table reads of a glossary, as protocols: the glossary module imports this one, so naming
# its classes here would make an import circle.
class _Entry(Protocol):
    @property
    def zh(self) -> str: ...
    @property
    def en(self) -> str: ...
    @property
    def abbr(self) -> str: ...
    @property
    def refs(self) -> tuple[str, ...]: ...
    @property
    def source(self) -> str: ...


class Glossary(Protocol):
    @property
    def entries(self) -> Sequence[_Entry]: ...


USER_FILE = "corpus/glossary.tsv"


def format_table(glossary: Glossary) -> str:
    """The glossary as an aligned plain-text table (zh, en, abbr, refs) for the terminal."""
    rows = [("中文", "English", "abbr", "refs")]
    for e in glossary.entries:
        # The document id is written once per run of refs from the same paper: "a:p1, p3, b:fn2".
        shown = [
            r if i == 0 or r.split(":")[0] != e.refs[i - 1].split(":")[0] else r.split(":", 1)[1]
            for i, r in enumerate(e.refs[:4])
        ]
        refs = ", ".join(shown) + (f" +{len(e.refs) - 4}" if len(e.refs) > 4 else "")
        rows.append((e.zh, e.en or "-", e.abbr or "-", refs + (" (user)" if e.source == "user" else "")))
    widths = [max(display_width(r[i]) for r in rows) for i in range(3)]
    lines = []
    for row in rows:
        cells = [c + " " * (w - display_width(c)) for c, w in zip(row[:3], widths, strict=True)]
        lines.append("  ".join([*cells, row[3]]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths) + "  ----")
    n = len(glossary.entries)
    lines.append(f"{n} {'entry' if n == 1 else 'entries'}")
    return "\n".join(lines)


def glossary_notes(glossary: Glossary) -> list[str]:
    """One-line notes for the reader of the table: what "(user)" means, one term under two Chinese
    names, abbreviations without English. Empty when none applies."""
    notes = []
    if any(e.source == "user" for e in glossary.entries):
        notes.append(
            f"(user): your own line in {USER_FILE} (it replaces mined pairs with the same Chinese or "
            "abbr); the other rows are mined from the papers' 中文（English） glosses"
        )
    # Two papers may name one thing differently (美墨加三国协议 / 美国—墨西哥—加拿大自由贸易协定) or one
    # may slip (国家标准化组织 for ISO). Neither is dropped: the counts are too small to call one
    # wrong, and an English question with the abbreviation then finds both papers' sentences.
    names: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for e in glossary.entries:
        for key in {e.abbr, e.en} - {""}:
            names[key][e.zh] = e.refs
    for key, zhs in sorted(names.items()):
        if len(zhs) > 1:
            shown = ", ".join(f"{zh} ({refs[0] if refs else 'no ref'})" for zh, refs in sorted(zhs.items()))
            notes.append(f"{key}: {len(zhs)} Chinese names in the papers, all kept: {shown}")
    bare = sum(1 for e in glossary.entries if e.abbr and not e.en)
    if bare:
        notes.append(
            f"{bare} abbreviation{'s' if bare > 1 else ''} without English (-): the corpus never spells "
            f"{'them' if bare > 1 else 'it'} out; add zh<TAB>English<TAB>ABBR lines to {USER_FILE}"
        )
    return notes
