"""The engine side of ``assistant serve``: one resident Engine answering ``ask`` and ``records``.

Requests arrive here already read and in order (the server's engine thread calls one method at a
time, so the engine, which is not thread-safe, is never shared). Before each answer the live
index, corpus and calibration are compared with what is loaded, and reloaded (same model) when
they changed, so a served answer is always the one the in-process path would give.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answer.abstain import PACKAGED_CALIBRATION
from assistant.apps.batch_answer import engine_outcomes
from assistant.apps.present import format_answer
from assistant.apps.serve.client import BAD, FINAL, NOT_MINE, code_stamp, identity
from assistant.engine import Engine
from assistant.errors import AssistantError, one_line
from assistant.index.manifest import corpus_hash
from assistant.index.store import load_index
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.index.embedder import Embedder

WARM_UP = ("贸易规则是什么？", "What are trade rules?")


def fail(code: str, error: str, exit_code: int = 2) -> dict[str, Any]:
    """A failure reply: its code tells the client whether to print it or answer in-process."""
    return {"ok": False, "code": code, "error": error, "exit": exit_code}


def _well_formed(req: dict[str, Any]) -> bool:
    """Whether an ask request has the fields' types our client sends (other senders may not)."""
    k, doc = req.get("k"), req.get("doc")
    return (
        isinstance(req.get("question"), str)
        and (k is None or (type(k) is int and k >= 1))
        and (doc is None or (isinstance(doc, list) and all(isinstance(d, str) for d in doc)))
        and all(isinstance(req.get(flag, False), bool) for flag in ("json", "explain", "reader"))
    )


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class ServedEngine:
    """The resident engine and what it was loaded from; ``requests`` counts questions answered."""

    def __init__(self, settings: Settings, embedder: Embedder | None, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.engine: Engine | None = None
        self.requests = 0
        self._embedder = embedder
        self._log = log
        self._identity = identity(settings)
        self._code = code_stamp()
        self._generation: tuple[object, ...] | None = None

    @property
    def build(self) -> object:
        """The name of the loaded index build."""
        return self._generation[0] if self._generation else None

    def open(self) -> None:
        """Load the engine and warm it (first queries pay for torch kernels, jieba, BM25)."""
        generation = self._current_generation()  # before loading: a build landing meanwhile reloads
        self.engine = Engine.open(self.settings, embedder=self._embedder)
        self._generation = generation
        for question in WARM_UP:
            self.engine.ask(question)

    def about(self) -> dict[str, Any] | None:
        """What a batch report says about the engine (model, reader, corpus)."""
        if self.engine is None:
            return None
        return {
            "model": self.engine.index.manifest.model_name,
            "reader": self.engine.reader.name if self.engine.reader is not None else None,
            "corpus": str(self.settings.corpus_dir),
            "documents": len(self.engine.documents),
            "top_k": self.settings.top_k,
        }

    def _not_mine(self, req: dict[str, Any]) -> bool:
        fingerprint = req.get("fingerprint")
        assert self.engine is not None
        return (
            any(req.get(key) != value for key, value in self._identity.items())
            or req.get("code") != self._code
            or (fingerprint is not None and fingerprint != self.engine.embedder.fingerprint)
        )

    def records(self, req: dict[str, Any]) -> dict[str, Any]:
        """``batch``: answer records (or refusals) for a window of questions, in order."""
        questions, qids, k, doc = req.get("questions"), req.get("qids"), req.get("k"), req.get("doc")
        if not (
            isinstance(questions, list)
            and isinstance(qids, list)
            and len(questions) == len(qids)
            and all(isinstance(x, str) for x in [*questions, *qids])
            and (k is None or (type(k) is int and k >= 1))
            and (doc is None or (isinstance(doc, list) and all(isinstance(d, str) for d in doc)))
            and isinstance(req.get("reader", True), bool)
        ):
            return fail(BAD, "bad request: expected questions and qids (lists of strings of one length)")
        if self._not_mine(req):
            return fail(NOT_MINE, "this server answers for another index, model or code version", 1)
        self.requests += len(questions)
        try:
            engine = self._fresh_engine()
            records = engine_outcomes(engine, questions, qids, k, doc or None, bool(req.get("reader", True)))
        except AssistantError as exc:
            return fail(FINAL, self._as_client(one_line(exc), req), exc.exit_code)
        return {"ok": True, "records": records}

    def ask(self, req: dict[str, Any]) -> dict[str, Any]:
        if not _well_formed(req):
            return fail(
                BAD,
                "bad request: expected question (string), k (integer >= 1 or null), "
                "doc (list of strings or null), json, explain and reader (booleans)",
            )
        assert self.engine is not None
        if self._not_mine(req):
            return fail(NOT_MINE, "this server answers for another index, model or code version", 1)
        self.requests += 1
        try:
            engine = self._fresh_engine()
            answer = engine.ask(
                req["question"],
                k=req.get("k"),
                doc_ids=req.get("doc") or None,
                use_reader=bool(req.get("reader", True)),
            )
            output = format_answer(engine, answer, bool(req.get("json")), bool(req.get("explain")))
        except AssistantError as exc:
            return fail(FINAL, self._as_client(one_line(exc), req), exc.exit_code)
        except Exception as exc:
            self._log("internal error:\n" + traceback.format_exc().rstrip())
            return fail("internal", f"internal error ({type(exc).__name__})", 1)
        return {"ok": True, "output": output, "notice": answer.reader.notice if answer.reader else ""}

    def _as_client(self, message: str, req: dict[str, Any]) -> str:
        # Messages name the index folder; spell it as the client did so they match the in-process text.
        arg = req.get("index_arg")
        return (
            message.replace(str(self.settings.resolved_index_dir), arg) if isinstance(arg, str) else message
        )

    def _current_generation(self) -> tuple[object, ...]:
        """What identifies the live data: build name, manifest file, corpus hash and calibration file."""
        index_dir = self.settings.resolved_index_dir
        try:
            build = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            build = None
        manifest = _stamp(index_dir / "builds" / build / "manifest.json") if build else None
        calibration = (_stamp(self.settings.calibration_path), _stamp(PACKAGED_CALIBRATION))
        return (build, manifest, corpus_hash(self.settings.corpus_dir), calibration)

    def _fresh_engine(self) -> Engine:
        """The engine for the current index, reloaded (same embedder) if the index, corpus or
        calibration changed; raises the in-process path's IndexStoreError if the index is unusable."""
        assert self.engine is not None
        generation = self._current_generation()
        if generation != self._generation:
            embedder = self.engine.embedder
            index = load_index(self.settings.resolved_index_dir, embedder.fingerprint, str(generation[2]))
            reader, hint = self.engine.reader, self.engine.reader_hint  # the loaded reader stays resident
            self.engine = Engine(self.settings, embedder, index, reader=reader, reader_hint=hint)
            self._generation = generation
            self._log(f"reloaded the index (build {generation[0]})")
        return self.engine
