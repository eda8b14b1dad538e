"""The Reader protocol and what it returns.

A reader does two jobs, each checked by the caller:

* ``read(question, sentences)``: how likely the numbered sentences of one paragraph answer the
  question (the judge, a probability from the model's first-token YES/NO logits), and which of
  them state the answer (the selection, 1-based numbers, validated against the sentence count);
* ``render(text, target, terms)``: a machine rendering of a verified quote in the other language,
  with glossary terms kept consistent.

Readers are injected into the engine like the embedder (``None`` means extractive answers only, as
without the model); tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from assistant.records import Lang


@dataclass(frozen=True)
class Reading:
    """A reader's verdict on one paragraph."""

    answers: float
    """Probability that the paragraph states the answer (the judge), in [0, 1]."""
    sentences: tuple[int, ...] = ()
    """1-based numbers of the sentences that state it (empty when it does not, or none parsed)."""
    raw: str = ""
    """What the model generated after its first token, for the record and for debugging."""


@runtime_checkable
class Reader(Protocol):
    """Reads passages against questions; every method may raise ReaderError."""

    @property
    def name(self) -> str:
        """Which reader and model, e.g. ``llama.cpp:qwen2.5-coder-1.5b-instruct-q4_k_m``."""
        ...

    def read(self, question: str, sentences: Sequence[str]) -> Reading:
        """Judge one paragraph, given as its sentences in order, and select those that answer."""
        ...

    def render(self, text: str, target: Lang, terms: Sequence[tuple[str, str]] = ()) -> str:
        """``text`` rendered in ``target`` (``en`` or ``zh``); ``terms`` are (zh, en) pairs to keep."""
        ...
