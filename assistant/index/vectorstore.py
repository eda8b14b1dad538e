"""The vector index behind a narrow interface (``add`` / ``search`` / ``save`` / ``load``).

Vectors are L2-normalised, so inner product is cosine similarity. Two FAISS
layouts: exact ``IndexFlatIP`` and approximate ``IndexHNSWFlat``. ``auto``
picks flat until a flat search costs about as much as embedding the question,
which bench/perf.py measured at about 200,000-230,000 vectors of 768
dimensions (680,000-700,000 at 256): the cost of a flat search grows with vectors x dimensions,
so the switch is expressed in that product.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

IndexKind = Literal["flat", "hnsw"]
INDEX_KINDS = ("auto", "flat", "hnsw")
# vectors x dimensions above which ``auto`` builds HNSW (bench/perf-report.md, scale test):
# the crossovers measured, 197k-229k x 768 and 676k-704k x 256, are 1.5e8-1.8e8.
HNSW_ABOVE = 160_000_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
# Graph search breadth; the report found 64 too narrow on unstructured data, so search wider.
HNSW_EF_SEARCH = 256
_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES, errno.EFBIG)


class VectorIndex(Protocol):
    """Exact or approximate nearest-neighbour search over row vectors."""

    @property
    def dim(self) -> int: ...

    @property
    def size(self) -> int: ...

    @property
    def kind(self) -> IndexKind: ...

    def add(self, vectors: np.ndarray) -> None: ...

    def search(
        self, queries: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, row ids), each of shape (len(queries), k'); k' <= k, ids -1 for no result.

        ``allowed`` restricts the search to those rows (e.g. the chunks of some documents).
        """
        ...

    def save(self, path: Path) -> None: ...

    def vectors(self) -> np.ndarray:
        """Every stored vector in row order."""
        ...


def choose_kind(n_vectors: int, dim: int, requested: str = "auto") -> IndexKind:
    """The index layout for ``n_vectors`` of ``dim``: as requested, or by size for ``auto``."""
    if requested not in INDEX_KINDS:
        raise ValueError(f"unknown index type {requested!r}; choose one of {', '.join(INDEX_KINDS)}")
    if requested != "auto":
        return requested  # type: ignore[return-value]
    return "hnsw" if n_vectors * dim > HNSW_ABOVE else "flat"


class FaissIndex:
    """A FAISS inner-product index, flat (exact) or HNSW (approximate)."""

    def __init__(self, index: object) -> None:
        self._index = index

    @classmethod
    def create(cls, dim: int, kind: IndexKind = "flat") -> FaissIndex:
        """An empty index of the given layout."""
        import faiss

        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            return cls(index)
        return cls(faiss.IndexFlatIP(dim))

    @property
    def dim(self) -> int:
        return int(self._index.d)  # type: ignore[attr-defined]

    @property
    def size(self) -> int:
        return int(self._index.ntotal)  # type: ignore[attr-defined]

    @property
    def kind(self) -> IndexKind:
        return "hnsw" if hasattr(self._index, "hnsw") else "flat"

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of dimension {self.dim}, got shape {vectors.shape}")
        self._index.add(vectors)  # type: ignore[attr-defined]

    def search(
        self, queries: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, self.size))
        params = None
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            if params is None:
                params = faiss.SearchParameters()
            params.sel = selector
        scores, ids = self._index.search(queries, k, params=params)  # type: ignore[attr-defined]
        return scores, ids

    def save(self, path: Path) -> None:
        """Write the index to ``path``; a failed write (full disk, I/O error) raises ``OSError``."""
        import faiss

        try:
            faiss.write_index(self._index, str(path))
        except RuntimeError as exc:
            # faiss reports a failed write as RuntimeError ("... (No space left on device)"): give
            # callers the OSError every other failed write raises, with the reason it names.
            named = [code for code in _WRITE_ERRNOS if os.strerror(code) in str(exc)]
            if named:
                raise OSError(named[0], os.strerror(named[0])) from exc
            raise OSError(errno.EIO, f"write failed ({str(exc).splitlines()[0][:120]})") from exc

    def vectors(self) -> np.ndarray:
        """Every stored vector, in row order (for a deep check; a copy of the whole index)."""
        return np.asarray(self._index.reconstruct_n(0, self.size), dtype=np.float32)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        """Read an index written by :meth:`save`; raises ``ValueError`` if the file is not a FAISS index."""
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:  # faiss reports truncated/garbled files as RuntimeError
            raise ValueError(f"unreadable FAISS index {path.name}: {str(exc).splitlines()[0][:120]}") from exc
        return cls(index)
