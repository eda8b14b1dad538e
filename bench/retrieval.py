"""Retrieval benchmark: BM25 alone, dense alone, the peer recipe and the full hybrid, in one process.

The peer recipe is what a user would otherwise build: LangChain's
RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50) over the raw
text files, the same embedding model, FAISS flat, top-k windows.

A ranked item (unit or window) is relevant when it contains a gold evidence span
(whitespace-insensitive). Reports rank-1 / top-5 accuracy and MRR@10 per
question language over the answerable questions of evals/questions.jsonl.

Usage: python bench/retrieval.py [--questions evals/holdout.jsonl] [--out bench/retrieval-report]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer import evals  # noqa: E402
from assistant.engine import Engine, Settings  # noqa: E402
from assistant.text import compact  # noqa: E402

K = 10


def score_ranking(
    items: Sequence[evals.EvalItem], rankings: Sequence[Sequence[str]]
) -> dict[str, dict[str, float]]:
    """rank1 / top5 / mrr10 per language, where each ranking is a list of item texts, best first."""
    out: dict[str, dict[str, float]] = {}
    for lang in ("zh", "en", "all"):
        rows = [(i, r) for i, r in zip(items, rankings, strict=True) if lang in ("all", i.lang)]
        ranks = []
        for item, ranking in rows:
            spans = [compact(s) for s in item.evidence]
            hit = next(
                (n + 1 for n, text in enumerate(ranking[:K]) if any(s in compact(text) for s in spans)), None
            )
            ranks.append(hit)
        n = len(ranks)
        out[lang] = {
            "n": n,
            "rank1": sum(r == 1 for r in ranks) / n,
            "top5": sum(r is not None and r <= 5 for r in ranks) / n,
            "mrr10": sum(1 / r for r in ranks if r) / n,
        }
    return out


def engine_rankings(engine: Engine, items: Sequence[evals.EvalItem]) -> list[list[str]]:
    answers = engine.ask_many([i.question for i in items], k=K)
    return [[h.paragraph.text for h in a.passages] for a in answers]


def bm25_rankings(engine: Engine, items: Sequence[evals.EvalItem]) -> list[list[str]]:
    """Pure BM25 (jieba tokens, English expanded through the glossary): no dense signal at all."""
    from assistant.text import detect_lang

    retriever = engine.retriever
    lexical = retriever._lexical
    assert lexical is not None
    units = list(engine.index.paragraphs.values())
    out = []
    for item in items:
        tokens, _, _ = retriever._lexical_query(item.question, detect_lang(item.question) or "en")
        scores = lexical.scores(tokens)
        order = [j for j in np.argsort(-scores, kind="stable") if scores[j] > 0][:K]
        out.append([units[j].text for j in order])
    return out


def peer_rankings(engine: Engine, items: Sequence[evals.EvalItem]) -> tuple[list[list[str]], float]:
    """The LangChain-splitter recipe over the raw files, with the same model and FAISS flat."""
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    windows = [
        w for path in sorted((ROOT / "corpus").glob("*.txt")) for w in splitter.split_text(path.read_text())
    ]
    t0 = time.perf_counter()
    vectors = engine.embedder.encode_documents(windows)
    build_s = time.perf_counter() - t0
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    queries = engine.embedder.encode_queries([i.question for i in items])
    _, ids = index.search(queries, K)
    return [[windows[j] for j in row if j >= 0] for row in ids], build_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=ROOT / "evals" / "questions.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "retrieval-report")
    args = parser.parse_args()
    items = [i for i in evals.load_items(args.questions) if i.answerable]
    command = "python bench/retrieval.py"
    if args.questions.name != "questions.jsonl":
        command += f" --questions evals/{args.questions.name} --out bench/{args.out.name}"
    hybrid = Engine.open(Settings.from_env())
    w = hybrid.retriever.weights
    systems: dict[str, Callable[[], list[list[str]]]] = {
        "bm25 (jieba, glossary-expanded)": lambda: bm25_rankings(hybrid, items),
        "dense (titled chunks)": lambda: engine_rankings(
            Engine(
                hybrid.settings,
                hybrid.embedder,
                hybrid.index,
                replace(w, doc_hint=0, kind_hint=0),
                lexical=False,
            ),
            items,
        ),
        "dense + BM25, no cues": lambda: engine_rankings(
            Engine(hybrid.settings, hybrid.embedder, hybrid.index, replace(w, doc_hint=0, kind_hint=0)), items
        ),
        "dense + author/kind cues, no BM25": lambda: engine_rankings(
            Engine(hybrid.settings, hybrid.embedder, hybrid.index, w, lexical=False), items
        ),
        "peer: langchain 500/50 + same model + faiss flat": lambda: peer_rankings(hybrid, items)[0],
        "hybrid (ours)": lambda: engine_rankings(hybrid, items),
    }
    results = {}
    for name, run in systems.items():
        t0 = time.perf_counter()
        results[name] = score_ranking(items, run())
        results[name]["seconds"] = round(time.perf_counter() - t0, 1)  # type: ignore[assignment]
        print(f"{name}: {results[name]}", file=sys.stderr)
    lines = [
        "# Retrieval benchmark",
        "",
        f"{len(items)} answerable questions of `evals/{args.questions.name}`, "
        f"model `{hybrid.index.manifest.model_name}`, "
        f"one process, {time.strftime('%Y-%m-%d')}. Command: `{command}`.",
        "Relevant = the ranked unit (ours) or window (peer) contains a gold evidence span.",
        "",
        "| system | zh rank-1 | zh top-5 | zh MRR@10 | en rank-1 | en top-5 | en MRR@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        zh, en = r["zh"], r["en"]
        lines.append(
            f"| {name} | {zh['rank1']:.3f} | {zh['top5']:.3f} | {zh['mrr10']:.3f} "
            f"| {en['rank1']:.3f} | {en['top5']:.3f} | {en['mrr10']:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
