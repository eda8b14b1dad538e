"""Retrieval: question -> ranked paragraph-level hits.

Dense retrieval over sentence-aligned chunks; chunk scores are pooled to their
paragraph (best chunk wins) so results are whole citable units, never windows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.embedding import Embedder
from assistant.index import LoadedIndex, search_chunks
from assistant.records import Hit

CANDIDATE_CHUNKS = 80


class DenseRetriever:
    """Cosine similarity between the query vector and chunk vectors, pooled per paragraph."""

    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        self._index = index
        self._embedder = embedder

    def embed(self, questions: Sequence[str]) -> np.ndarray:
        """Query vectors for a batch of questions (one model call)."""
        return self._embedder.encode_queries(list(questions))

    def search(
        self, query_vector: np.ndarray, k: int = 5, doc_ids: frozenset[str] | None = None
    ) -> tuple[Hit, ...]:
        """The top ``k`` paragraphs for one query vector."""
        best: dict[str, tuple[float, int]] = {}
        for row, score in search_chunks(self._index, query_vector, max(CANDIDATE_CHUNKS, k * 8), doc_ids):
            ref = self._index.chunks[row].ref
            if ref not in best or score > best[ref][0]:
                best[ref] = (score, row)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:k]
        return tuple(
            Hit(
                rank=i + 1,
                paragraph=self._index.paragraphs[ref],
                score=round(score, 4),
                chunk=self._index.chunks[row],
                scores={"dense": round(score, 4)},
            )
            for i, (ref, (score, row)) in enumerate(ranked)
        )
