"""A persistent cache of document embeddings keyed by (model fingerprint, text hash).

Rebuilding the index re-embeds only texts this model has never seen, so an
unchanged paragraph costs nothing and one edited paragraph costs one chunk.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def text_key(fingerprint: str, text: str) -> str:
    """The cache key of one document text under one model."""
    return hashlib.sha256(f"{fingerprint}\0{text}".encode()).hexdigest()


class EmbeddingCache:
    """SQLite-backed vector cache; safe to delete at any time (it only costs re-embedding)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)")

    def close(self) -> None:
        self._db.close()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            part = list(keys[i : i + 500])
            marks = ",".join("?" * len(part))
            for key, _dim, data in self._db.execute(
                f"SELECT key, dim, data FROM vec WHERE key IN ({marks})", part
            ):
                found[key] = np.frombuffer(data, dtype=np.float32).copy()
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        rows = [(k, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?, ?)", rows)


def embed_with_cache(
    texts: Sequence[str],
    titles: Sequence[str],
    fingerprint: str,
    encode: Callable[[Sequence[str], Sequence[str]], np.ndarray],
    cache: EmbeddingCache | None,
    batch: int = 64,
    progress: Callable[[int, int], None] | None = None,
    reuse: bool = True,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (with their ``titles``) in order, encoding only cache misses.

    Returns (vectors, n_encoded). Misses are encoded and stored batch by batch so
    an interrupted build keeps what it already paid for.
    """
    keys = [text_key(fingerprint, f"{title}\0{text}") for title, text in zip(titles, texts, strict=True)]
    # reuse=False re-embeds everything (a clean rebuild) but still refreshes the cache.
    known = cache.get_many(keys) if cache and reuse else {}
    missing = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
    for start in range(0, len(missing), batch):
        idx = missing[start : start + batch]
        vectors = encode([texts[i] for i in idx], [titles[i] for i in idx])
        fresh = {keys[i]: vectors[j] for j, i in enumerate(idx)}
        known.update(fresh)
        if cache:
            cache.put_many(fresh)
        if progress:
            progress(min(start + batch, len(missing)), len(missing))
    if not keys:
        return np.zeros((0, 0), dtype=np.float32), 0
    return np.stack([known[k] for k in keys]).astype(np.float32), len(missing)
