"""Every setting in one frozen dataclass, and the only module that reads the environment.

``Settings.from_env()`` reads each ``ASSISTANT_*`` variable once; everything else takes a
``Settings`` (or a value from one) as an argument. Only the standard library (and platformdirs, on
first use) is imported, so the light socket client can import this without pulling in the engine.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# A source checkout has corpus/ and evals/ beside the package; an installed package has neither.
SOURCE_ROOT = PACKAGE_DIR.parent
DEFAULT_MODEL = "google/embeddinggemma-300m"


def _env(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    value = os.environ.get(name, "")
    return value or None


def _default_corpus() -> Path:
    # inside this repository the bundled sample corpus is the library (every eval runs on it);
    # anywhere else the user's own papers live in their per-user data folder
    repo = SOURCE_ROOT / "corpus"
    if repo.is_dir() and Path.cwd().resolve().is_relative_to(SOURCE_ROOT):
        return repo
    return user_library()


def user_library() -> Path:
    """The per-user library folder (``~/.local/share/assistant/library`` on Linux)."""
    import platformdirs

    return platformdirs.user_data_path("assistant") / "library"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "assistant"


def _threads(value: str | None) -> int:
    return int(value) if value and value.isdigit() and int(value) > 0 else (os.cpu_count() or 1)


def _switch(value: str) -> str:
    """``0`` / ``1`` / ``auto`` from the usual spellings of off, on and anything else."""
    word = value.strip().lower()
    if word in ("0", "no", "false", "off", "never"):
        return "0"
    return "1" if word in ("1", "yes", "true", "on", "always") else "auto"


def _seconds(value: str) -> float:
    """A positive number of seconds, or the default of 15 minutes for anything else."""
    try:
        seconds = float(value)
    except ValueError:
        return 900.0
    return seconds if seconds > 0 else 900.0


@dataclass(frozen=True)
class Settings:
    """Where things live and how answers are made; each field says which variable overrides it."""

    corpus_dir: Path = field(default_factory=_default_corpus)
    """The library: ``<doc>.<pdf|docx|md|html|txt>`` + ``<doc>.toml`` pairs (ASSISTANT_CORPUS or
    ``--library``); default ``corpus/`` of the source checkout when run inside it, else the per-user
    data folder (:func:`user_library`)."""
    index_dir: Path | None = None
    """Index folder (ASSISTANT_INDEX); default ``.index`` beside the corpus folder."""
    model: str | None = None
    """Embedding model name or local sentence-transformers folder (ASSISTANT_MODEL); None means
    the verified cache copy of :data:`DEFAULT_MODEL`."""
    cache_dir: Path = field(default_factory=_default_cache)
    """Models and the embedding cache (ASSISTANT_CACHE); default ``~/.cache/assistant``."""
    threads: int = field(default_factory=lambda: _threads(None))
    """Torch intra-op threads (ASSISTANT_THREADS); default all cores."""
    top_k: int = 5
    """How many passages an answer lists (``-k``); never changes the verdict or the citations."""
    index_type: str = "auto"
    """Vector index layout: flat, hnsw, or auto by corpus size (ASSISTANT_INDEX_TYPE)."""
    reader: str = "auto"
    """The reader (ASSISTANT_READER): ``auto`` uses the local model when it is installed (or the
    server of ``reader_url`` when that is set), ``none`` answers extractively only."""
    reader_url: str | None = None
    """An OpenAI-compatible server for the reader, e.g. ``http://127.0.0.1:8080/v1``
    (ASSISTANT_READER_URL); when set it replaces the local model."""
    reader_model: str = "qwen2.5-coder-1.5b-instruct"
    """The model name sent to that server (ASSISTANT_READER_MODEL)."""
    reader_key: str | None = field(default=None, repr=False)
    """The server's API key (ASSISTANT_READER_KEY); never printed."""
    autoserve: str = "auto"
    """Whether ``ask`` starts a background engine when none runs (ASSISTANT_AUTOSERVE): ``auto``
    when the user is at a terminal, ``1`` always, ``0`` never."""
    serve_idle: float = 900.0
    """Seconds without questions after which a background engine exits (ASSISTANT_SERVE_IDLE)."""
    runtime_base: Path | None = None
    """The login session's private runtime folder (XDG_RUNTIME_DIR), where the server's socket
    goes; without one, a folder in the user's own cache."""

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from environment variables, then explicit overrides (None values ignored)."""
        values: dict[str, object] = {}
        if corpus := _env("ASSISTANT_CORPUS"):
            values["corpus_dir"] = Path(corpus).expanduser()
        if index := _env("ASSISTANT_INDEX"):
            values["index_dir"] = Path(index).expanduser()
        if model := _env("ASSISTANT_MODEL"):
            values["model"] = model
        if cache := _env("ASSISTANT_CACHE"):
            values["cache_dir"] = Path(cache).expanduser()
        if threads := _env("ASSISTANT_THREADS"):
            values["threads"] = _threads(threads)
        if index_type := _env("ASSISTANT_INDEX_TYPE"):
            values["index_type"] = index_type
        if reader := _env("ASSISTANT_READER"):
            values["reader"] = reader
        if reader_url := _env("ASSISTANT_READER_URL"):
            values["reader_url"] = reader_url
        if reader_model := _env("ASSISTANT_READER_MODEL"):
            values["reader_model"] = reader_model
        if reader_key := _env("ASSISTANT_READER_KEY"):
            values["reader_key"] = reader_key
        if (autoserve := _env("ASSISTANT_AUTOSERVE")) is not None:
            values["autoserve"] = _switch(autoserve)
        if idle := _env("ASSISTANT_SERVE_IDLE"):
            values["serve_idle"] = _seconds(idle)
        if (runtime := _env("XDG_RUNTIME_DIR")) and Path(runtime).is_absolute():
            values["runtime_base"] = Path(runtime)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]

    @property
    def resolved_index_dir(self) -> Path:
        """The index folder: ``index_dir`` or ``.index`` beside the corpus folder."""
        return self.index_dir or self.corpus_dir.resolve().parent / ".index"

    @property
    def calibration_path(self) -> Path:
        """Where ``assistant eval --calibrate`` writes its bars: beside the index, user-writable
        (the calibration shipped in the package is the fallback)."""
        return self.resolved_index_dir / "calibration.toml"

    @property
    def models_dir(self) -> Path:
        """Verified model copies: ``<cache>/models/<name>``."""
        return self.cache_dir / "models"

    @property
    def probe_path(self) -> Path:
        """The embedding model's probe vector recorded at install, one file per configured model."""
        slug = hashlib.sha256((self.model or DEFAULT_MODEL).encode()).hexdigest()[:16]
        return self.cache_dir / "probes" / f"{slug}.json"

    @property
    def embedding_cache_path(self) -> Path:
        """The embedding cache (vectors by content hash and model)."""
        return self.cache_dir / "embeddings.sqlite"

    @property
    def evals_dir(self) -> Path | None:
        """The source checkout's ``evals/`` folder, or None for an installed package."""
        path = SOURCE_ROOT / "evals"
        return path if path.is_dir() else None
