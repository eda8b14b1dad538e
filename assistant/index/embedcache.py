"""A persistent cache of document embeddings keyed by (model fingerprint, text hash).

Rebuilding the index re-embeds only texts this model has never seen, so an
unchanged paragraph costs nothing and one edited paragraph costs one chunk.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from assistant.errors import IndexStoreError, ModelError
from assistant.index.integrity import invalid_rows


def text_key(fingerprint: str, text: str) -> str:
    """The cache key of one document text under one model."""
    return hashlib.sha256(f"{fingerprint}\0{text}".encode()).hexdigest()


class EmbeddingCache:
    """SQLite-backed vector cache; safe to delete at any time (it only costs re-embedding).

    Any fault in it (a damaged file, a full disk, a file that is not a database) is one
    :class:`IndexStoreError` naming the file and saying it can be deleted.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._faults():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path))
            self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)")

    @contextlib.contextmanager
    def _faults(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise IndexStoreError(
                f"embedding cache {self.path} is unusable ({str(exc).splitlines()[0][:80]}); it only "
                "saves re-embedding, so it can be deleted safely: delete it and run the command again"
            ) from None

    def close(self) -> None:
        with self._faults():
            self._db.close()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of ``keys`` (missing keys left out)."""
        found: dict[str, np.ndarray] = {}
        with self._faults():
            for i in range(0, len(keys), 500):
                part = list(keys[i : i + 500])
                marks = ",".join("?" * len(part))
                for key, _dim, data in self._db.execute(
                    f"SELECT key, dim, data FROM vec WHERE key IN ({marks})", part
                ):
                    found[key] = np.frombuffer(data, dtype=np.float32).copy()
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store vectors by key (replacing what was there)."""
        rows = [(k, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        with self._faults(), self._db:
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?, ?)", rows)


def _sound(found: dict[str, np.ndarray], dim: int | None) -> dict[str, np.ndarray]:
    """The cached vectors that are finite unit vectors of one length; the rest are embedded again."""
    if not found:
        return found
    if dim is None:
        # One model gives one length: a row of another length is damage, and so is every row when
        # no length holds a majority (then everything is embedded again).
        length, count = Counter(v.shape[0] for v in found.values()).most_common(1)[0]
        if 2 * count <= len(found) and len(found) > 1:
            return {}
        dim = length
    keys = [k for k, v in found.items() if v.shape[0] == dim]
    if not keys:
        return {}
    bad = set(invalid_rows(np.stack([found[k] for k in keys])).tolist())
    return {k: found[k] for i, k in enumerate(keys) if i not in bad}


def embed_with_cache(
    texts: Sequence[str],
    titles: Sequence[str],
    fingerprint: str,
    encode: Callable[[Sequence[str], Sequence[str]], np.ndarray],
    cache: EmbeddingCache | None,
    batch: int = 64,
    progress: Callable[[int, int], None] | None = None,
    reuse: bool = True,
    dim: int | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (with their ``titles``) in order, encoding only cache misses.

    Returns (vectors, n_encoded). Misses are encoded and stored batch by batch so
    an interrupted build keeps what it already paid for. ``dim`` (when known) is the length every
    vector must have; a cached vector of another length, or not a finite unit vector, is re-encoded.
    """
    keys = [text_key(fingerprint, f"{title}\0{text}") for title, text in zip(titles, texts, strict=True)]
    # reuse=False re-embeds everything (a clean rebuild) but still refreshes the cache.
    # A damaged cached vector (NaN from a broken model, a flipped byte) is embedded again.
    known = _sound(cache.get_many(keys), dim) if cache and reuse else {}
    missing = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
    if progress and missing:
        progress(0, len(missing))  # "embedding 0/N" as soon as the work is known, before the model loads
    for start in range(0, len(missing), batch):
        idx = missing[start : start + batch]
        vectors = encode([texts[i] for i in idx], [titles[i] for i in idx])
        if bad := len(invalid_rows(vectors)):
            # Never into the cache or the index: a NaN vector is found by nothing, forever.
            raise ModelError(
                f"the embedding model produced {bad} invalid vector(s) (not finite, or not of unit "
                "length): its files may be damaged; nothing was cached or indexed; run "
                "`assistant models fetch` to check and repair the model"
            )
        fresh = {keys[i]: vectors[j] for j, i in enumerate(idx)}
        known.update(fresh)
        if cache:
            cache.put_many(fresh)
        if progress:
            progress(min(start + batch, len(missing)), len(missing))
    if not keys:
        return np.zeros((0, 0), dtype=np.float32), 0
    return np.stack([known[k] for k in keys]).astype(np.float32), len(missing)
