"""Checks that keep damaged bytes from turning into answers.

A flipped byte in a vector file or a model file does not make anything crash: it makes every
answer wrong (a similarity of 4e35 wins every question; a NaN embedding matches nothing). So the
numbers themselves are checked where they enter and leave the index:

- every vector that is embedded, cached or indexed must be finite and of unit length;
- every similarity a search returns must lie in [-1, 1] (inner products of unit vectors);
- every file of an index build must match the SHA-256 its manifest recorded when it was written.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from assistant.errors import IndexStoreError

UNIT_TOLERANCE = 1e-3
"""How far from 1 a vector's length may be: float32 rounding stays far below it, damage does not."""
SCORE_LIMIT = 1.0 + 1e-3
"""The largest similarity two unit vectors can have, with the same rounding room."""
REBUILD_DAMAGED = "run `assistant index --rebuild`"
_BUF = 1 << 20


def invalid_rows(vectors: np.ndarray) -> np.ndarray:
    """Indices of the rows that are not finite unit vectors (NaN, infinity, zero or wrong length)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {vectors.shape}")
    if not len(vectors):
        return np.zeros(0, dtype=np.int64)
    # float32 is exact enough for a 1e-3 tolerance, and a float64 copy of a whole library's vectors
    # (`index --verify`, the cached vectors of a rebuild) would double its memory; an overflowing
    # square (a flipped exponent) gives inf, which is flagged like any other damage.
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.linalg.norm(vectors, axis=1)
    finite = np.isfinite(vectors).all(axis=1)
    return np.flatnonzero(~finite | ~(np.abs(norms - 1.0) <= UNIT_TOLERANCE))


def check_scores(scores: Iterable[float]) -> None:
    """IndexStoreError when a similarity is not finite or outside [-1, 1]: the vectors are damaged."""
    for score in scores:
        if not math.isfinite(score) or abs(score) > SCORE_LIMIT:
            raise IndexStoreError(
                f"the index is damaged (a similarity of {score:.3g} is impossible for unit vectors); "
                + REBUILD_DAMAGED
            )


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, streamed so a large vector file never sits in memory twice."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BUF):
            h.update(block)
    return h.hexdigest()


def digest_files(folder: Path, names: Iterable[str]) -> dict[str, str]:
    """``{name: sha256}`` for the files ``names`` in ``folder``."""
    return {name: file_sha256(folder / name) for name in sorted(names)}


def check_files(folder: Path, digests: Mapping[str, str], index_dir: Path) -> None:
    """IndexStoreError naming the first file of a build that is missing or no longer matches its digest."""
    for name, want in sorted(digests.items()):
        path = folder / name
        try:
            actual = file_sha256(path)
        except OSError as exc:
            raise IndexStoreError(
                f"index in {index_dir} is damaged ({name}: {exc.strerror or exc}); {REBUILD_DAMAGED}"
            ) from None
        if actual != want:
            raise IndexStoreError(
                f"index in {index_dir} is damaged ({name} does not match the digest recorded when it "
                f"was built); {REBUILD_DAMAGED}"
            )
