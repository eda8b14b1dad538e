"""Retrieval: question -> ranked paragraph-level hits.

Dense retrieval runs over sentence-aligned chunks at two granularities, windows of
a few sentences and single sentences: a unit scores as its best window, and its best
slice of either kind is what it is quoted from;
lexical BM25 runs over whole units, English questions expanded with the
glossary's Chinese terms. Both are fused per unit, so results are whole
citable units, never windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.index.embedder import Embedder
from assistant.index.manifest import LoadedIndex
from assistant.index.store import search_chunks
from assistant.ingest.glossary import Glossary, GlossaryEntry
from assistant.records import Hit, Lang
from assistant.search.hints import QueryHints, find_hints
from assistant.search.lexical import LexicalIndex

# Slices fetched per query: most of a small corpus's, so nearly every unit gets its own dense score.
CANDIDATE_CHUNKS = 1000


@dataclass(frozen=True)
class FusionWeights:
    """How much each signal adds to the dense cosine score (chosen by measurement: evals/README.md).

    ``lexical`` multiplies BM25 normalised by the query's best BM25 score, per
    question language: Chinese questions share vocabulary with the corpus and
    gain from it; English ones only through glossary expansion, which is noisy.
    """

    lexical: dict[str, float] = field(default_factory=lambda: {"zh": 0.25, "en": 0.05})
    doc_hint: float = 0.03
    kind_hint: float = 0.05


@dataclass(frozen=True)
class Retrieval:
    """Ranked hits plus what the query became (for ``--explain``)."""

    hits: tuple[Hit, ...]
    lexical_tokens: tuple[str, ...] = ()
    lexical_coverage: float = 1.0
    expansions: tuple[GlossaryEntry, ...] = ()
    hints: QueryHints = field(default_factory=QueryHints)


class HybridRetriever:
    """Dense + BM25 fusion with glossary expansion and author/kind cues."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        glossary: Glossary | None = None,
        weights: FusionWeights | None = None,
        lexical: bool = True,
    ) -> None:
        self._index = index
        self._embedder = embedder
        self._glossary = glossary or Glossary()
        self.weights = weights or FusionWeights()
        self._units = list(index.paragraphs.values())
        self._pos = {u.ref: i for i, u in enumerate(self._units)}
        terms = [e.zh for e in self._glossary.entries]
        self._lexical = LexicalIndex(self._units, terms) if lexical else None

    def embed(self, questions: Sequence[str]) -> np.ndarray:
        """Query vectors for a batch of questions (one model call)."""
        return self._embedder.encode_queries(list(questions))

    def _dense(
        self, vector: np.ndarray, doc_ids: frozenset[str] | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per unit: the best score over its windows, and the row and score of its best slice of
        either kind (the quote's candidates); a unit with no retrieved window gets the lowest
        retrieved score."""
        scores = np.full(len(self._units), np.nan, dtype=np.float32)
        best = np.full(len(self._units), -np.inf, dtype=np.float32)
        rows = np.full(len(self._units), -1, dtype=np.int64)
        for row, score in search_chunks(self._index, vector, CANDIDATE_CHUNKS, doc_ids):
            chunk = self._index.chunks[row]
            j = self._pos[chunk.ref]
            if score > best[j]:
                best[j], rows[j] = score, row
            if not chunk.sentence and (np.isnan(scores[j]) or score > scores[j]):
                scores[j] = score
        floor = np.nanmin(scores) if not np.all(np.isnan(scores)) else 0.0
        dense = np.where(np.isnan(scores), floor, scores)
        return dense, rows, np.maximum(dense, best)

    def _lexical_query(self, question: str, lang: Lang) -> tuple[list[str], list[GlossaryEntry], float]:
        """BM25 tokens, glossary expansions and the question's corpus coverage.

        English questions reach BM25 only through glossary terms, which the corpus has by
        construction, so their coverage is 1.
        """
        assert self._lexical is not None
        if lang == "zh":
            tokens, coverage = self._lexical.analyse(question)
            return tokens, [], coverage
        expansions = self._glossary.expand_english(question)
        tokens = [t for e in expansions for t in self._lexical.query_tokens(e.zh)]
        tokens += [e.abbr.lower() for e in expansions if e.abbr]
        return tokens, expansions, 1.0

    def search(
        self, question: str, lang: Lang, vector: np.ndarray, k: int = 5, doc_ids: frozenset[str] | None = None
    ) -> Retrieval:
        """The top ``k`` units for one question and its query vector."""
        dense, rows, best_slice = self._dense(vector, doc_ids)
        fused = dense.copy()
        lexical = np.zeros_like(dense)
        tokens: list[str] = []
        expansions: list[GlossaryEntry] = []
        coverage = 1.0
        if self._lexical is not None:
            tokens, expansions, coverage = self._lexical_query(question, lang)
            lexical = self._lexical.scores(tokens)
            top = float(lexical.max()) if len(lexical) else 0.0
            if top > 0:
                fused += self.weights.lexical[lang] * coverage * lexical / top
        hints = find_hints(question, self._index.documents)
        bonus = np.array(
            [
                self.weights.doc_hint * (u.doc_id in hints.doc_ids)
                + self.weights.kind_hint * (u.kind in hints.kinds)
                for u in self._units
            ],
            dtype=np.float32,
        )
        fused += bonus
        allowed = np.array([doc_ids is None or u.doc_id in doc_ids for u in self._units])
        order = [j for j in np.lexsort((np.arange(len(fused)), -fused)) if allowed[j]][:k]
        hits = tuple(
            Hit(
                rank=i + 1,
                paragraph=self._units[j],
                score=round(float(fused[j]), 4),
                chunk=self._index.chunks[rows[j]] if rows[j] >= 0 else None,
                scores={
                    "dense": round(float(dense[j]), 4),
                    "slice": round(float(best_slice[j]), 4),
                    "lexical": round(float(lexical[j]), 4),
                    "hint": round(float(bonus[j]), 4),
                    "fused": round(float(fused[j]), 4),
                },
            )
            for i, j in enumerate(order)
        )
        return Retrieval(hits, tuple(tokens), round(coverage, 4), tuple(expansions), hints)
