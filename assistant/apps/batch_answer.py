"""Who answers a batch: the engine in this process, or a running ``assistant serve``.

Both give, for a window of questions, one answer record per question (the schema record of
``docs/answer-schema.md``) or the one-line reason the question was refused, so ``run_batch``
and the writers do not care which one answered. A running server saves the model load (about
ten seconds, most of a small batch); its records are made by the same code from the same index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from assistant.answer.record import answer_record
from assistant.errors import QuestionError, ServedError
from assistant.records import Answer
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.engine import Engine

Outcome = dict[str, Any] | str
"""An answer record, or the one-line reason the question was refused."""


@dataclass(frozen=True)
class About:
    """What a batch report's header says about who answered."""

    model: str
    reader: str | None
    corpus: str
    documents: int
    top_k: int


class Answerer(Protocol):
    """Answers a window of questions in order."""

    @property
    def about(self) -> About: ...

    def answer(
        self, questions: Sequence[str], qids: Sequence[str], k: int | None, doc_ids: Sequence[str] | None
    ) -> list[Outcome]: ...


def ask_each(
    engine: Engine, questions: Sequence[str], k: int | None, doc_ids: Sequence[str] | None, use_reader: bool
) -> list[Answer | QuestionError]:
    """Answers in order; a question the engine refuses yields its QuestionError instead."""
    # use_reader only when it is off: the engine's default, and engines that wrap it keep theirs
    extra: dict[str, bool] = {} if use_reader else {"use_reader": False}
    try:
        return list(engine.ask_many(questions, k, doc_ids, **extra)) if questions else []
    except QuestionError as exc:
        if len(questions) == 1:
            return [exc]
    # ask_many refuses the whole window for one bad question: ask one by one so the others are answered
    out: list[Answer | QuestionError] = []
    for q in questions:
        try:
            out.append(engine.ask_many([q], k, doc_ids, **extra)[0])
        except QuestionError as exc:
            out.append(exc)
    return out


def engine_outcomes(
    engine: Engine,
    questions: Sequence[str],
    qids: Sequence[str],
    k: int | None,
    doc_ids: Sequence[str] | None,
    use_reader: bool = True,
) -> list[Outcome]:
    """Records (or refusals) for ``questions`` from ``engine``: what both answerers return."""
    return [
        answer_record(result, engine.documents, qid) if isinstance(result, Answer) else str(result)
        for result, qid in zip(ask_each(engine, questions, k, doc_ids, use_reader), qids, strict=True)
    ]


class EngineAnswerer:
    """The engine in this process."""

    def __init__(self, engine: Engine, use_reader: bool = True) -> None:
        self.engine = engine
        self.use_reader = use_reader

    @property
    def about(self) -> About:
        reader = self.engine.reader.name if self.engine.reader is not None and self.use_reader else None
        return About(
            model=self.engine.index.manifest.model_name,
            reader=reader,
            corpus=str(self.engine.settings.corpus_dir),
            documents=len(self.engine.documents),
            top_k=self.engine.settings.top_k,
        )

    def answer(
        self, questions: Sequence[str], qids: Sequence[str], k: int | None, doc_ids: Sequence[str] | None
    ) -> list[Outcome]:
        return engine_outcomes(self.engine, questions, qids, k, doc_ids, self.use_reader)


class ServedAnswerer:
    """A running ``assistant serve`` for these settings (see :func:`served_answerer`)."""

    def __init__(self, settings: Settings, about: About, use_reader: bool = True) -> None:
        self.settings = settings
        self.use_reader = use_reader
        self._about = about

    @property
    def about(self) -> About:
        return self._about

    def answer(
        self, questions: Sequence[str], qids: Sequence[str], k: int | None, doc_ids: Sequence[str] | None
    ) -> list[Outcome]:
        from assistant.apps.serve.client import code_stamp, identity, request

        reply = request(
            self.settings,
            {
                "op": "records",
                **identity(self.settings),
                "code": code_stamp(),
                "questions": list(questions),
                "qids": list(qids),
                "k": k,
                "doc": list(doc_ids) if doc_ids else None,
                "reader": self.use_reader,
            },
        )
        if reply is None or not isinstance(reply, dict):
            raise ServedError("the running `assistant serve` stopped answering; run the batch again", 1)
        if reply.get("ok") is True and isinstance(reply.get("records"), list):
            return list(reply["records"])
        error = str(reply.get("error") or "the running `assistant serve` refused the batch")
        raise ServedError(error, int(reply.get("exit") or 1))


def served_answerer(settings: Settings, use_reader: bool) -> ServedAnswerer | None:
    """The running server for ``settings`` as an answerer, or None when none runs (or it is not ours)."""
    from assistant.apps.serve.client import code_stamp, request

    status = request(settings, {"op": "status"}, timeout=5.0)
    if not status or not status.get("ok") or status.get("code") != code_stamp():
        return None
    about = status.get("about")
    if not isinstance(about, dict):
        return None
    try:
        facts = About(
            model=str(about["model"]),
            reader=about["reader"] if use_reader else None,
            corpus=str(about["corpus"]),
            documents=int(about["documents"]),
            top_k=int(about["top_k"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return ServedAnswerer(settings, facts, use_reader)
