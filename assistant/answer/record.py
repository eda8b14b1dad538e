"""Answer -> the JSON record defined in shared/design/answer-schema.md."""

from __future__ import annotations

from typing import Any

from assistant.records import Answer, DocumentMeta, Hit
from assistant.text import compact


def _unit_number(hit_or_para_number: int) -> int | None:
    return hit_or_para_number or None


def passage_record(hit: Hit) -> dict[str, Any]:
    """One retrieved unit, whole paragraph text included."""
    p = hit.paragraph
    return {
        "rank": hit.rank,
        "ref": p.ref,
        "doc_id": p.doc_id,
        "kind": p.kind,
        "paragraph": _unit_number(p.number),
        "section": p.section_label,
        "page_start": p.page_start,
        "page_end": p.page_end,
        "text": p.text,
        "score": hit.score,
        "scores": dict(hit.scores),
    }


def answer_record(
    answer: Answer, documents: dict[str, DocumentMeta], qid: str | None = None
) -> dict[str, Any]:
    """The schema record for one answer (``id`` included when given)."""
    record: dict[str, Any] = {}
    if qid is not None:
        record["id"] = qid
    record.update(
        {
            "question": answer.question,
            "lang": answer.lang,
            "answerable": answer.answerable,
            "answer": answer.text,
            "citations": [
                {
                    "n": c.n,
                    "ref": c.paragraph.ref,
                    "doc_id": c.paragraph.doc_id,
                    "title": documents[c.paragraph.doc_id].title
                    if c.paragraph.doc_id in documents
                    else c.title,
                    "section": c.paragraph.section_label,
                    "paragraph": _unit_number(c.paragraph.number),
                    "page_start": c.paragraph.page_start,
                    "page_end": c.paragraph.page_end,
                    "kind": c.paragraph.kind,
                    "quote": c.quote,
                    "rendering": c.rendering,
                    "text": c.paragraph.text,
                    "score": c.score,
                }
                for c in answer.citations
            ],
            "passages": [passage_record(h) for h in answer.passages],
            "reader": reader_record(answer),
            "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
        }
    )
    return record


def reader_record(answer: Answer) -> dict[str, Any] | None:
    """What the reader did for this answer (None when answered without one)."""
    note = answer.reader
    if note is None:
        return None
    return {
        "name": note.name,
        "prompt_version": note.prompt_version,
        "judge": note.judge,
        "selected": list(note.selected),
        "notice": note.notice or None,
    }


_CITATION_FIELDS = {
    "n": int,
    "ref": str,
    "doc_id": str,
    "title": str,
    "section": str,
    "quote": str,
    "text": str,
}
_PASSAGE_FIELDS = {"rank": int, "ref": str, "doc_id": str, "section": str, "text": str, "score": float}


def schema_problems(record: dict[str, Any]) -> list[str]:
    """Everything that makes ``record`` violate the answer schema (empty list when valid)."""

    problems: list[str] = []
    for key, typ in (("question", str), ("lang", str), ("answerable", bool), ("answer", str)):
        if not isinstance(record.get(key), typ):
            problems.append(f"{key}: expected {typ.__name__}")
    if record.get("lang") not in ("zh", "en"):
        problems.append("lang: must be zh or en")
    for key in ("citations", "passages"):
        if not isinstance(record.get(key), list):
            problems.append(f"{key}: expected a list")
    if not isinstance(record.get("timings_ms"), dict):
        problems.append("timings_ms: expected an object")
    if problems:
        return problems
    for c in record["citations"]:
        for key, typ in _CITATION_FIELDS.items():
            if not isinstance(c.get(key), typ):
                problems.append(f"citation {c.get('n')}: {key} expected {typ.__name__}")
        if not isinstance(c.get("score"), (int, float)):
            problems.append(f"citation {c.get('n')}: score expected a number")
        quote, text = c.get("quote"), c.get("text")
        is_text = isinstance(quote, str) and isinstance(text, str)
        if is_text and (not compact(quote) or compact(quote) not in compact(text)):
            problems.append(f"citation {c.get('n')}: quote is not a substring of its paragraph")
        if c.get("ref") != f"{c.get('doc_id')}:p{c.get('paragraph')}" and c.get("paragraph") is not None:
            problems.append(f"citation {c.get('n')}: ref does not match doc_id/paragraph")
    for p in record["passages"]:
        for key, typ in _PASSAGE_FIELDS.items():
            if not isinstance(p.get(key), (int, float) if typ is float else typ):
                problems.append(f"passage {p.get('rank')}: {key} expected {typ.__name__}")
    if record["answerable"] and not record["citations"]:
        problems.append("answerable record without citations")
    if not record["answerable"] and record["citations"]:
        problems.append("unanswerable record with citations")
    return problems
