"""The local reader: the GGUF model run in-process by llama.cpp (llama-cpp-python, loaded on first use).

The judge is the softmax of the first generated token's logits over the YES and NO tokens; the
selection is then read greedily from the next few tokens. The system turn, the same for every
passage, is evaluated once and kept in the model's cache. Generation is greedy and bounded, so the
same input always gives the same output.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.reader.base import Reading
from assistant.answer.reader.prompts import clean_rendering, parse_selection, read_prompt, render_prompt
from assistant.errors import ReaderError
from assistant.records import Lang

CONTEXT_TOKENS = 4096
SELECT_TOKENS = 12
# A rendering is at most about as many tokens as the quote has characters, plus some slack.
RENDER_SLACK = 24
MAX_RENDER_TOKENS = 512


_QUIET: list[Any] = []  # keeps the no-op log callback alive for as long as llama.cpp may call it


def _silence(llama_cpp: Any) -> None:
    """Route llama.cpp's own log lines (context sizes, warnings) to nowhere: they are not ours to
    print, and they would land between an answer's lines on the terminal."""
    if not _QUIET:

        @llama_cpp.llama_log_callback
        def quiet(level: int, text: bytes, user_data: Any) -> None:
            return None

        _QUIET.append(quiet)
        llama_cpp.llama_log_set(quiet, None)


class LlamaReader:
    """A GGUF instruct model read through llama.cpp; ``threads`` is the CPU threads it uses."""

    def __init__(self, model_path: Path, threads: int = 2, context: int = CONTEXT_TOKENS) -> None:
        self._path = Path(model_path)
        self._threads = threads
        self._context = context
        self._llm: Any = None
        self._yes: set[int] = set()
        self._no: set[int] = set()
        self._stop: set[int] = set()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"llama.cpp:{self._path.stem}"

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def _model(self) -> Any:
        if self._llm is None:
            try:
                import llama_cpp
            except ImportError as exc:
                raise ReaderError(
                    "llama-cpp-python is not installed; run `bash scripts/setup.sh --install` "
                    "(or answer without the reader: --no-reader)"
                ) from exc
            _silence(llama_cpp)
            try:
                llm = llama_cpp.Llama(
                    model_path=str(self._path),
                    n_ctx=self._context,
                    n_threads=self._threads,
                    n_batch=512,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ReaderError(
                    f"cannot load the reader model {self._path} ({exc}); run `assistant models fetch`"
                ) from exc

            def first(word: str) -> int:
                return llm.tokenize(word.encode(), add_bos=False, special=False)[0]

            self._yes = {first(w) for w in ("YES", "Yes", "yes")}
            self._no = {first(w) for w in ("NO", "No", "no")}
            self._stop = {llm.token_eos(), *llm.tokenize(b"<|im_end|>", add_bos=False, special=True)}
            self._llm = llm
        return self._llm

    def _eval_prompt(self, prompt: str) -> np.ndarray:
        """Evaluate ``prompt``; the logits of the next token.

        The system turn is evaluated on its own and kept in the cache while the next prompt has the
        same one; the rest is always evaluated in one pass on top of it. So the same prompt gives
        the same numbers whatever was asked before (reusing a longer common beginning would not:
        llama.cpp's sums differ slightly with how a prompt is split into batches).
        """
        llm = self._model()
        head, marker, tail = prompt.partition("<|im_start|>user\n")
        fixed = llm.tokenize((head + marker).encode("utf-8"), add_bos=False, special=True)
        rest = llm.tokenize(tail.encode("utf-8"), add_bos=False, special=True)
        if len(fixed) + len(rest) + MAX_RENDER_TOKENS > self._context:
            raise ReaderError(f"passage too long for the reader ({len(fixed) + len(rest)} tokens)")
        if llm.n_tokens < len(fixed) or llm.input_ids[: len(fixed)].tolist() != fixed:
            llm.n_tokens = 0
            llm.eval(fixed)
        llm.n_tokens = len(fixed)
        llm.eval(rest)
        return self._logits()

    def _logits(self) -> np.ndarray:
        llm = self._llm
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)

    def _generate(self, logits: np.ndarray, max_tokens: int) -> str:
        """Greedy continuation from ``logits`` until a stop token or ``max_tokens``."""
        llm = self._llm
        out: list[int] = []
        for _ in range(max_tokens):
            token = int(logits.argmax())
            if token in self._stop:
                break
            out.append(token)
            llm.eval([token])
            logits = self._logits()
        return llm.detokenize(out).decode("utf-8", "replace")

    def read(self, question: str, sentences: Sequence[str]) -> Reading:
        with self._lock:
            logits = self._eval_prompt(read_prompt(question, sentences))
            top = float(logits.max())
            yes = sum(math.exp(logits[t] - top) for t in self._yes)
            no = sum(math.exp(logits[t] - top) for t in self._no)
            p_yes = yes / (yes + no) if yes + no > 0 else 0.0
            raw = self._generate(logits, SELECT_TOKENS) if p_yes >= 0.5 else "NO"
        return Reading(p_yes, parse_selection(raw, len(sentences)), raw)

    def render(self, text: str, target: Lang, terms: Sequence[tuple[str, str]] = ()) -> str:
        with self._lock:
            logits = self._eval_prompt(render_prompt(text, target, terms))
            budget = min(MAX_RENDER_TOKENS, len(text) * (1 if target == "en" else 2) + RENDER_SLACK)
            return clean_rendering(self._generate(logits, budget))
