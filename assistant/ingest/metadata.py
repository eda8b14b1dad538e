"""Guess a new document's bibliographic facts from what its file states, for its sidecar.

The guesses come from the file's own metadata (PDF info, Word core properties, HTML ``<meta>``)
and from its first page (author line, affiliation in brackets, journal banner, issue line, DOI).
Only what the text states is taken: no year from a file's creation date (that is when the PDF was
made, not when the paper appeared), no author from a placeholder such as ``Administrator``.
Everything lands in the sidecar, where the user's edits win over any later guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from pathlib import Path

from assistant.ingest.source import SourceText

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"
_PLACEHOLDER = re.compile(
    r"^(?:anonymous|administrator|admin|user|author|unknown|untitled|python-docx|microsoft office user"
    r"|owner|lenovo|dell|hp|\d+|[a-z]{1,3})$",
    re.I,
)
_JUNK_TITLE = re.compile(r"^(?:untitled|unknown|microsoft word - .*|.*\.(?:docx?|pdf|tex|indd))$", re.I)
_SUPERSCRIPTS = re.compile(r"[\d*†‡§¹²³⁴⁵⁶⁷⁸⁹⁰,，、;；]+")
_CN_NAME = re.compile(rf"^[{_HAN}]{{2,4}}$")
_EN_NAME = re.compile(r"^[A-Z][a-zA-Z'\-]+(?: [A-Z]\.?)*(?: [A-Z][a-zA-Z'\-]+){1,2}$")
_AFFILIATION = re.compile(r"(?:大学|学院|研究院|研究所|研究中心|University|Institute|School|College|Academy)")
_JOURNAL = re.compile(
    rf"^(?:[{_HAN}]{{2,16}}(?:学报|杂志|研究|评论|论坛|法学|经济|世界)|.*\bJournal of\b.*|.*\bReview\b.*)$"
)
_Y = r"((?:19[5-9]|20[0-4])\d)"
# the year as an issue line states it: 2023年9月第21卷第5期, 2021 年第 5 期, 文章编号 …（2023）05-0117,
# No.5, 2021, Vol. 12 (2021), © 2021; a bare year in a sentence is not taken (it is usually an event's year)
_YEAR = re.compile(
    rf"(?<!\d){_Y}\s*年\s*(?:\d{{1,2}}\s*月\s*)?(?:第\s*\d+\s*卷\s*)?第\s*\d+\s*期|[（(]{_Y}[)）]\s*\d+-\d+"
    rf"|No\.?\s*\d+\s*,\s*{_Y}\b|Vol\.?\s*\d+\s*[,(（]\s*(?:No\.?\s*\d+\s*[,)]\s*)?{_Y}|©\s*{_Y}\b"
)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>，。；]+)")
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "令狐", "慕容", "夏侯")


def _clean(text: str) -> str:
    text = " ".join(text.split())
    # letter-spaced CJK (李 科, 中南大学 法学院) joined back; a space between Latin words kept
    return re.sub(rf"(?<=[{_HAN}]) (?=[{_HAN}])", "", text)


def _authors_of(line: str) -> list[str]:
    """The names on an author line, or [] when the line is not one."""
    line = " ".join(line.split())
    if not line or len(line) > 80 or re.search(r"[。：:!?？！]", line):
        return []
    if re.search(rf"[{_HAN}]", line):
        tokens = [t for t in _SUPERSCRIPTS.sub(" ", line).split() if t]
        names: list[str] = []
        for tok in tokens:  # letter-spaced names: 徐 泉 -> 徐泉
            if names and len(tok) == 1 and len(names[-1]) == 1:
                names[-1] += tok
            else:
                names.append(tok)
        return names if names and len(names) <= 8 and all(_CN_NAME.match(n) for n in names) else []
    parts = [
        p.strip() for p in re.split(r",|;| and |&", re.sub(r"[\d*†‡§¹²³⁴⁵⁶⁷⁸⁹⁰]", "", line)) if p.strip()
    ]
    return parts if parts and len(parts) <= 8 and all(_EN_NAME.match(p) for p in parts) else []


def _info_authors(value: str) -> list[str]:
    names = [n.strip() for n in re.split(r"[,;，；、/]| and ", value) if n.strip()]
    return [n for n in names if not _PLACEHOLDER.match(n)]


def _first_lines(source: SourceText) -> list[str]:
    """The first page's lines as printed (letter spacing kept: it separates names)."""
    return [" ".join(x.split()) for x in source.info.get("first_page", "").splitlines() if x.strip()][:40]


def _title_like(line: str) -> bool:
    return (
        4 <= len(line) <= 60
        and not re.search(r"[。：:；;，,]$|[。：:；;]", line)
        and not _authors_of(line)
        and not (_AFFILIATION.search(line) or _JOURNAL.match(line) or _YEAR.search(line))
    )


def _title(source: SourceText, lines: list[str], path: Path) -> str:
    for key in ("title_layout", "title"):
        value = _clean(source.info.get(key, ""))
        if value and not _JUNK_TITLE.match(value) and len(value) >= 4:
            return value
    # in a plain text the title is the line above the author line
    at = next((k for k, ln in enumerate(lines[:30]) if _authors_of(ln)), None)
    if at and _title_like(lines[at - 1]):
        return _clean(lines[at - 1])
    return path.stem


def guess_meta(source: SourceText, path: Path) -> dict[str, object]:
    """Sidecar fields the file states: ``title``, ``authors``, ``affiliation``, ``journal``, ``year``,
    ``doi`` (only those found)."""
    lines = _first_lines(source)
    found: dict[str, object] = {"title": _title(source, lines, path)}
    authors = _info_authors(source.info.get("author", ""))
    if not authors:
        authors = next((a for a in (_authors_of(ln) for ln in lines[:12]) if a), [])
    if authors:
        found["authors"] = authors
    journal = next((ln for ln in lines[:20] if _JOURNAL.match(_clean(ln)) and len(ln) <= 60), "")
    if journal:
        found["journal"] = _clean(journal)
    # an affiliation is printed in brackets under the authors: （中南大学 法学院，长沙 410083）
    affiliation = next(
        (ln for ln in lines[:20] if _AFFILIATION.search(ln) and len(ln) <= 80 and ln != journal),
        "",
    )
    if affiliation:
        found["affiliation"] = _clean(re.sub(r"[，,]\s*[^，,]*\d{6}\s*", "", affiliation).strip("()（）[] "))
    year = next((m for m in (_YEAR.search(ln) for ln in lines if len(ln) <= 80) if m), None)
    if year:
        found["year"] = int(next(g for g in year.groups() if g))
    text = "\n".join(lines)
    doi = _DOI.search(text + "\n" + source.info.get("doi", "") + "\n" + source.info.get("subject", ""))
    if doi:
        found["doi"] = doi[1].rstrip(".,;)")
    return found


def _ascii_slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _surname(name: str) -> str:
    if re.search(rf"[{_HAN}]", name):
        from pypinyin import lazy_pinyin

        head = name[:2] if name.startswith(_COMPOUND_SURNAMES) else name[:1]
        return "".join(lazy_pinyin(head))
    return _ascii_slug(name.split()[-1]) if name.split() else ""


def make_doc_id(meta: dict[str, object], path: Path, taken: Collection[str]) -> str:
    """A slug from the first author(s) and year (``li-2023``, ``xu-geng-2021``, ``smith-nd``), made
    unique against ``taken`` with a letter (``li-2023b``)."""
    authors = [str(a) for a in meta.get("authors", []) or []]  # type: ignore[union-attr]
    names = [_surname(a) for a in authors[:2]] if len(authors) <= 2 else [_surname(authors[0]), "etal"]
    stem = "-".join(n for n in names if n)
    if not stem:
        from pypinyin import lazy_pinyin

        title = str(meta.get("title", "")) or path.stem
        stem = "-".join(_ascii_slug(w) for w in lazy_pinyin(title[:4]) if _ascii_slug(w))[:40] or "doc"
    year = meta.get("year")
    base = f"{stem}-{year}" if isinstance(year, int) else f"{stem}-nd"
    base = re.sub(r"-+", "-", base).strip("-")
    if base not in taken:
        return base
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if base + letter not in taken:
            return base + letter
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
