"""The vector index behind a narrow interface (``add`` / ``search`` / ``save`` / ``load``).

Vectors are L2-normalised, so inner product is cosine similarity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


class VectorIndex(Protocol):
    """Exact or approximate nearest-neighbour search over row vectors."""

    @property
    def dim(self) -> int: ...

    @property
    def size(self) -> int: ...

    def add(self, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, row ids), each of shape (len(queries), k'); k' <= k, ids -1 for no result."""
        ...

    def save(self, path: Path) -> None: ...


class FaissFlatIndex:
    """Exact inner-product search with FAISS ``IndexFlatIP``."""

    def __init__(self, dim: int, index: object | None = None) -> None:
        import faiss

        self._index = index if index is not None else faiss.IndexFlatIP(dim)

    @property
    def dim(self) -> int:
        return int(self._index.d)  # type: ignore[attr-defined]

    @property
    def size(self) -> int:
        return int(self._index.ntotal)  # type: ignore[attr-defined]

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of dimension {self.dim}, got shape {vectors.shape}")
        self._index.add(vectors)  # type: ignore[attr-defined]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, self.size))
        scores, ids = self._index.search(queries, k)  # type: ignore[attr-defined]
        return scores, ids

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissFlatIndex:
        """Read an index written by :meth:`save`; raises ``ValueError`` if the file is not a FAISS index."""
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:  # faiss reports truncated/garbled files as RuntimeError
            raise ValueError(f"unreadable FAISS index {path.name}: {str(exc).splitlines()[0][:120]}") from exc
        return cls(int(index.d), index)
