"""Embedders: the narrow interface the index and retrieval depend on.

``SentenceTransformerEmbedder`` wraps a local sentence-transformers model and
imports torch only when the first text is encoded. ``HashingEmbedder`` is a
deterministic stand-in for tests: character n-grams hashed into a fixed space.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from assistant.errors import ModelError
from assistant.index.integrity import invalid_rows
from assistant.index.models import FETCH_HINT, distrust, force_offline

PROBE_TEXT = "监管合作 regulatory cooperation: 协商一致的决策方式 (consensus decision-making)."
"""A fixed passage whose vector is recorded at install and compared at every load."""
PROBE_MIN_COSINE = 0.999
"""Thread counts and BLAS kernels move a vector by ~1e-6; a damaged weight moves it far more."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (one row per text)."""

    @property
    def name(self) -> str:
        """A stable identifier of the model (recorded in the index manifest)."""
        ...

    @property
    def fingerprint(self) -> str:
        """Changes whenever the vectors would change (model files, prompts, dimension)."""
        ...

    @property
    def dim(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> np.ndarray:
        """Passage vectors; ``titles`` (one per text) give each passage its context, e.g. the section path."""
        ...


def titled(text: str, title: str | None) -> str:
    """A passage with its title in front, for models without a title slot in their prompt."""
    return f"{title}\n{text}" if title else text


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row; zero rows stay zero instead of becoming NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def digest_fingerprint(name: str, digests: Mapping[str, str], extra: str = "") -> str:
    """A short hash over a model's name, file digests and any settings that shape its vectors."""
    h = hashlib.sha256(name.encode())
    for path in sorted(digests):
        h.update(f"\0{path}\0{digests[path]}".encode())
    h.update(extra.encode())
    return h.hexdigest()[:16]


class HashingEmbedder:
    """Deterministic bag-of-character-n-grams embedder for fast tests (no model files)."""

    def __init__(self, dim: int = 256, ngram: tuple[int, ...] = (1, 2, 3)) -> None:
        self._dim = dim
        self._ngram = ngram

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def fingerprint(self) -> str:
        return f"hashing-{self._dim}-{'-'.join(map(str, self._ngram))}"

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            folded = "".join(text.lower().split())
            for n in self._ngram:
                for i in range(len(folded) - n + 1):
                    h = int.from_bytes(hashlib.blake2b(folded[i : i + n].encode(), digest_size=8).digest())
                    out[row, h % self._dim] += 1.0 if (h >> 63) else -1.0
        return normalise_rows(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> np.ndarray:
        return self._encode([titled(t, titles[i] if titles else None) for i, t in enumerate(texts)])


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, loaded on first use.

    Uses the model's own ``query`` / ``document`` prompts when it defines them
    (EmbeddingGemma does), so queries and passages are encoded asymmetrically.
    """

    def __init__(
        self,
        name: str,
        path: Path,
        digests: Mapping[str, str],
        # 8 encoded passages ~10 % faster than 16 (less padding); 32 and 64 were slower
        # (bench/model-options-report.md). Vectors do not depend on it.
        batch_size: int = 8,
        threads: int | None = None,
        probe_file: Path | None = None,
    ) -> None:
        """``probe_file`` holds the probe vector recorded at install (see :meth:`record_probe`)."""
        self._name = name
        self._probe_file = probe_file
        self._path = Path(path)
        self._digests = dict(digests)
        self._batch_size = batch_size
        self._threads = threads or os.cpu_count() or 1
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def digests(self) -> dict[str, str]:
        return dict(self._digests)

    @property
    def fingerprint(self) -> str:
        return digest_fingerprint(self._name, self._digests, "prompts:query/document;titled")

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Any:
        """The loaded SentenceTransformer (imports torch on first access)."""
        with self._lock:
            if self._model is None:
                force_offline()
                # Library progress bars and advisories would interleave with our own output.
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                import torch
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(self._threads)
                model = SentenceTransformer(str(self._path), device="cpu", local_files_only=True)
                self._self_check(self._probe(model))
                self._model = model
            return self._model

    def _probe(self, model: Any) -> np.ndarray:
        return np.asarray(
            model.encode([PROBE_TEXT], convert_to_numpy=True, normalize_embeddings=True), dtype=np.float32
        )[0]

    def _damaged(self, why: str) -> ModelError:
        # The size+mtime marker vouched for files whose bytes changed: make the next fetch hash them.
        distrust(self._path)
        return ModelError(
            f"the embedding model in {self._path} {why}: its files are damaged; {FETCH_HINT} to check "
            "and repair them (or point ASSISTANT_MODEL at a good copy)"
        )

    def _self_check(self, vector: np.ndarray) -> None:
        """ModelError unless the probe passage gives a finite unit vector close to the recorded one.

        Costs one short encode per load; catches a model file damaged without its size or mtime
        changing, which the verified-marker cannot see.
        """
        if len(invalid_rows(vector.reshape(1, -1))):
            raise self._damaged("gives vectors that are not finite unit vectors")
        recorded = self._recorded_probe()
        if recorded is not None and (
            recorded.shape != vector.shape or float(recorded @ vector) < PROBE_MIN_COSINE
        ):
            raise self._damaged("no longer gives the vector recorded when it was installed")

    def _recorded_probe(self) -> np.ndarray | None:
        if self._probe_file is None:
            return None
        try:
            data = json.loads(self._probe_file.read_text(encoding="utf-8"))
            if data.get("fingerprint") != self.fingerprint:
                return None
            return np.asarray(data["vector"], dtype=np.float32)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # no record (a model installed before records, or removed): nothing to compare

    def record_probe(self) -> bool:
        """Record the probe vector of this (verified) model at install; False if one is already recorded.

        Loads the model (which checks it against any earlier record first).
        """
        if self._probe_file is None or self._recorded_probe() is not None:
            return False
        vector = self._probe(self.model)
        self._probe_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._probe_file.with_name(f".{self._probe_file.name}.{os.getpid()}.tmp")
        payload = {"fingerprint": self.fingerprint, "text": PROBE_TEXT, "vector": vector.tolist()}
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, self._probe_file)
        return True

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        model = self.model
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        kwargs: dict[str, Any] = {}
        if prompt_name in (getattr(model, "prompts", None) or {}):
            kwargs["prompt_name"] = prompt_name
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
            **kwargs,
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(invalid_rows(vectors)):
            raise self._damaged("gave vectors that are not finite unit vectors")
        return vectors

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> np.ndarray:
        """Passage vectors, each with its title in the model's title slot when the prompt has one.

        EmbeddingGemma's document prompt is ``title: none | text: ``; filling the
        title with the document and section path measurably improved rank-1
        retrieval on the eval set (see evals/README.md).
        """
        if not titles:
            return self._encode(texts, "document")
        prompt = (getattr(self.model, "prompts", None) or {}).get("document", "")
        if "title: none" in prompt:
            return self._encode(
                [
                    prompt.replace("title: none", f"title: {t or 'none'}") + x
                    for t, x in zip(titles, texts, strict=True)
                ],
                "",
            )
        return self._encode([titled(x, t) for t, x in zip(titles, texts, strict=True)], "document")
