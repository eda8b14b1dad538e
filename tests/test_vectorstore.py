"""The vector index: layout choice by size, flat vs HNSW results, row filters, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.index.vectorstore import HNSW_ABOVE, FaissIndex, choose_kind


@pytest.mark.parametrize(
    ("n", "dim", "requested", "kind"),
    [
        (270, 768, "auto", "flat"),  # today's corpus
        (200_000, 768, "auto", "flat"),
        (220_000, 768, "auto", "hnsw"),  # past the measured crossover (~206k at 768-d)
        (600_000, 256, "auto", "flat"),
        (700_000, 256, "auto", "hnsw"),
        (HNSW_ABOVE // 768, 768, "auto", "flat"),
        (270, 768, "hnsw", "hnsw"),  # an explicit choice wins
        (10**7, 768, "flat", "flat"),
    ],
)
def test_choose_kind(n: int, dim: int, requested: str, kind: str) -> None:
    assert choose_kind(n, dim, requested) == kind


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown index type 'ivf'"):
        choose_kind(10, 8, "ivf")


def _vectors(n: int = 300, dim: int = 16) -> np.ndarray:
    x = np.random.default_rng(7).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_search_finds_each_vector_first_and_respects_the_row_filter(kind: str, tmp_path: Path) -> None:
    x = _vectors()
    index = FaissIndex.create(x.shape[1], kind)  # type: ignore[arg-type]
    index.add(x)
    path = tmp_path / "v.faiss"
    index.save(path)
    loaded = FaissIndex.load(path)
    assert (loaded.kind, loaded.size, loaded.dim) == (kind, 300, 16)
    _, ids = loaded.search(x[:20], 1)
    assert ids[:, 0].tolist() == list(range(20))
    allowed = list(range(100, 150))
    _, ids = loaded.search(x[:5], 10, allowed)
    assert set(ids.ravel().tolist()) <= set(allowed)


def test_hnsw_agrees_with_exact_search_on_a_small_set() -> None:
    x = _vectors(2000, 32)
    q = _vectors(50, 32)
    flat, hnsw = FaissIndex.create(32, "flat"), FaissIndex.create(32, "hnsw")
    flat.add(x)
    hnsw.add(x)
    _, exact = flat.search(q, 10)
    _, approx = hnsw.search(q, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.95
