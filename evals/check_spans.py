#!/usr/bin/env python3
"""Check the fixed evaluation question set (stdlib only).

For every answerable question, each evidence span must occur, after removing
ALL whitespace from both the span and the document, exactly once in the raw
text of its document.  Documents are read from /work/main/corpus/<doc_id>.txt
when that file exists, otherwise from the seed file in /work/shared/seeds/.

Also validates the schema, warns about spans that look risky (length outside
8-40 compacted characters, or a raw-text region that crosses a probable
paragraph break / page-noise line), and prints counts.

Usage:  python3 evals/check_spans.py [questions.jsonl] [--strict]
        --strict turns warnings into failures.
Exit status 0 when clean, 1 otherwise.
"""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_DIR = os.path.join(os.path.dirname(HERE), "corpus")
SEED_DIR = "/work/shared/seeds"
SEEDS = {
    "xu-geng-2021": "000_93eab92e1b161743.txt",
    "yang-2024": "002_e4d54a1be47b3d70.txt",
    "li-2023": "004_f2f3ab211e8404e7.txt",
}
LANGS = {"zh", "en"}
ANSWERABLE_TYPES = {"definition", "number", "entity", "cause", "proposal",
                    "footnote", "abstract-en", "paraphrase", "comparison"}
UNANSWERABLE_TYPES = {"near-domain", "off-topic"}
WS = re.compile(r"\s+")
# sentence-final punctuation at the end of a raw line: a likely paragraph end
PARA_END = set("。！？；：")
# lines that are page noise (page numbers, citation markers, running heads)
NOISE_LINE = re.compile(r"^\s*(\d{1,4}|\[\d+\]|.*学报.*|.*Journal of.*|徐泉耿旭洋.*|李科：.*)\s*$")


def doc_path(doc_id):
    p = os.path.join(CORPUS_DIR, f"{doc_id}.txt")
    if os.path.exists(p):
        return p
    return os.path.join(SEED_DIR, SEEDS[doc_id])


def load_docs():
    docs = {}
    for doc_id in SEEDS:
        with open(doc_path(doc_id), encoding="utf-8") as f:
            raw = f.read()
        idx = [i for i, ch in enumerate(raw) if not ch.isspace()]
        compact = "".join(raw[i] for i in idx)
        docs[doc_id] = (raw, compact, idx)
    return docs


def region_warnings(raw, idx, start, length):
    """Inspect the raw text covered by a compacted match for risky breaks."""
    a, b = idx[start], idx[start + length - 1] + 1
    seg = raw[a:b]
    warns = []
    lines = seg.split("\n")
    # full interior lines (not the first or last, which may be partial)
    for ln in lines[1:-1]:
        if ln.strip() and (NOISE_LINE.match(ln.replace(" ", "")) or NOISE_LINE.match(ln)):
            warns.append(f"crosses noise line {ln.strip()[:30]!r}")
    # a raw line inside the span ending with sentence-final punctuation
    for ln in lines[:-1]:
        s = ln.rstrip()
        if s and s[-1] in PARA_END:
            warns.append(f"crosses possible paragraph end after {s[-12:]!r}")
    return warns


def main(argv):
    strict = "--strict" in argv
    args = [x for x in argv[1:] if not x.startswith("--")]
    qpath = args[0] if args else os.path.join(HERE, "questions.jsonl")
    docs = load_docs()
    errors, warnings = [], []
    items, ids = [], set()
    with open(qpath, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: bad JSON: {e}")
                continue
            items.append(q)
            qid = q.get("id", f"line{n}")
            if qid in ids:
                errors.append(f"{qid}: duplicate id")
            ids.add(qid)
            for k in ("id", "question", "lang", "answerable", "doc_id", "evidence", "type"):
                if k not in q:
                    errors.append(f"{qid}: missing field {k}")
            if q.get("lang") not in LANGS:
                errors.append(f"{qid}: bad lang {q.get('lang')!r}")
            elif not qid.startswith(q["lang"] + "-"):
                errors.append(f"{qid}: id prefix does not match lang")
            if q.get("answerable") is True:
                if q.get("type") not in ANSWERABLE_TYPES:
                    errors.append(f"{qid}: bad type {q.get('type')!r} for answerable")
                if q.get("doc_id") not in docs:
                    errors.append(f"{qid}: unknown doc_id {q.get('doc_id')!r}")
                    continue
                ev = q.get("evidence") or []
                if not ev:
                    errors.append(f"{qid}: answerable but no evidence")
                raw, compact, idx = docs[q["doc_id"]]
                for span in ev:
                    s = WS.sub("", span)
                    c = compact.count(s)
                    if c != 1:
                        errors.append(f"{qid}: span occurs {c}x in {q['doc_id']}: {span!r}")
                        continue
                    if not 8 <= len(s) <= 40:
                        warnings.append(f"{qid}: span length {len(s)} outside 8-40: {span!r}")
                    for w in region_warnings(raw, idx, compact.find(s), len(s)):
                        warnings.append(f"{qid}: {w}: {span!r}")
            elif q.get("answerable") is False:
                if q.get("type") not in UNANSWERABLE_TYPES:
                    errors.append(f"{qid}: bad type {q.get('type')!r} for unanswerable")
                if q.get("doc_id") is not None or q.get("evidence"):
                    errors.append(f"{qid}: unanswerable must have doc_id null and evidence []")
                if q.get("dev20"):
                    errors.append(f"{qid}: dev20 item must be answerable")
            else:
                errors.append(f"{qid}: answerable must be true/false")

    def show(title, counter):
        print(f"{title}: " + ", ".join(f"{k}={v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0]))))

    print(f"questions: {len(items)}  (docs read from: "
          + ", ".join(f"{d}={doc_path(d)}" for d in SEEDS) + ")")
    show("by lang", Counter(q.get("lang") for q in items))
    show("by answerable", Counter(q.get("answerable") for q in items))
    show("by doc", Counter(q.get("doc_id") or "none" for q in items))
    show("by type", Counter(q.get("type") for q in items))
    show("by lang x answerable", Counter(f"{q.get('lang')}/{q.get('answerable')}" for q in items))
    show("by doc x lang", Counter(f"{q.get('doc_id') or 'none'}/{q.get('lang')}" for q in items))
    dev = [q for q in items if q.get("dev20")]
    print(f"dev20: {len(dev)}")
    show("dev20 by lang", Counter(q.get("lang") for q in dev))
    show("dev20 by doc", Counter(q.get("doc_id") for q in dev))
    n_spans = sum(len(q.get("evidence") or []) for q in items)
    print(f"evidence spans: {n_spans}")

    for w in warnings:
        print("WARN ", w)
    for e in errors:
        print("ERROR", e)
    failed = bool(errors) or (strict and bool(warnings))
    print("RESULT:", "FAIL" if failed else "OK",
          f"({len(errors)} errors, {len(warnings)} warnings)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
