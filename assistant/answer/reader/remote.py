"""The remote reader: an OpenAI-compatible chat-completions server (Ollama, vLLM, llama-server) over HTTP.

The prompts are the local reader's, sent as a system and a user message (the server applies its
own chat template). The judge is the first generated token's probabilities over YES and NO, read
from the server's ``top_logprobs``; a server that returns no log-probabilities is judged from its
reply alone (1.0 for YES, 0.0 for NO). Generation is greedy (temperature 0) and bounded.
Only the standard library is used, and every failure is a one-line :class:`ReaderError` naming
the URL and the fix, so the extractive answer still stands.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from assistant.answer.reader.base import Reading
from assistant.answer.reader.prompts import clean_rendering, parse_selection, read_prompt, render_prompt
from assistant.errors import ReaderError
from assistant.records import Lang

SELECT_TOKENS = 12
RENDER_TOKENS = 512
TOP_LOGPROBS = 10
MAX_BODY = 4 * 1024 * 1024
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
UNSET = "unset ASSISTANT_READER_URL"
OPENAI = "check that it is an OpenAI-compatible server"
_VERDICT = re.compile(r"^\s*(YES|NO)\b", re.IGNORECASE)

Opener = Callable[[urllib.request.Request, float], bytes]
"""Sends a request within a timeout and returns the response body; raises as ``urlopen`` does."""

_SYSTEM, _USER = "<|im_start|>system\n", "<|im_end|>\n<|im_start|>user\n"
_END = "<|im_end|>\n<|im_start|>assistant\n"


def split_chatml(prompt: str) -> tuple[str, str]:
    """The system and user text of a one-turn ChatML prompt from :mod:`prompts` (exact inverse of ``chatml``).

    The user text is everything between the first user marker and the fixed assistant suffix, so
    chat markers quoted inside a passage stay inside the user message.
    """
    if not (prompt.startswith(_SYSTEM) and prompt.endswith(_END) and _USER in prompt):
        raise ReaderError("internal error: the reader prompt is not one ChatML system and user turn")
    system, user = prompt[len(_SYSTEM) : -len(_END)].split(_USER, 1)
    return system, user


def _urlopen_opener(url: str) -> Opener:
    """The default opener: ``urllib``, bypassing any proxy for a server on this machine."""
    host = urllib.parse.urlsplit(url).hostname or ""
    opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if host in LOOPBACK else []))

    def send(request: urllib.request.Request, timeout: float) -> bytes:
        with opener.open(request, timeout=timeout) as response:
            return response.read(MAX_BODY + 1)  # one byte more, so that too large can be told

    return send


class OpenAIReader:
    """A model behind an OpenAI-compatible server at ``url`` (the base, e.g. ``http://127.0.0.1:8080/v1``)."""

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        opener: Opener | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        parts = urllib.parse.urlsplit(self._url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ReaderError(f"the reader URL {url!r} is not an http(s) URL; fix or {UNSET}")
        self._model = model
        self._api_key = api_key
        self._timeout = timeout
        self._open = opener if opener is not None else _urlopen_opener(self._url)

    @property
    def name(self) -> str:
        """``openai:<model>@<url>``."""
        return f"openai:{self._model}@{self._url}"

    def _error(self, what: str, fix: str) -> ReaderError:
        """A one-line error: what the reader at the URL did, and how to fix it."""
        return ReaderError(f"the reader at {self._url} {what}; {fix} or {UNSET}")

    def _complete(self, prompt: str, **options: Any) -> dict[str, Any]:
        """POST one chat completion for ``prompt``; the first choice, or a ReaderError."""
        system, user = split_chatml(prompt)
        payload = {
            "model": self._model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
            "stream": False,
            **options,
        }
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        try:
            request = urllib.request.Request(
                f"{self._url}/chat/completions", json.dumps(payload).encode(), headers, method="POST"
            )
            body = self._open(request, self._timeout)
        except urllib.error.HTTPError as exc:
            fix = f"check the URL and the model {self._model!r} (ASSISTANT_READER_MODEL)"
            if exc.code in (401, 403):
                fix = "check the API key (ASSISTANT_READER_KEY)"
            raise self._error(f"answered HTTP {exc.code}{_detail(exc)}", fix) from exc
        except (OSError, ValueError) as exc:  # URLError, refused, reset, timeout
            reason = getattr(exc, "reason", exc)
            if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
                raise self._error(
                    f"did not answer within {self._timeout:g} s (timeout)",
                    "check that the server is up and not overloaded",
                ) from exc
            reason = " ".join(str(reason).split()) or type(exc).__name__
            raise ReaderError(
                f"cannot reach the reader at {self._url} ({reason}); start the server or {UNSET}"
            ) from exc
        except http.client.HTTPException as exc:
            raise self._error(f"returned garbage, not HTTP ({type(exc).__name__})", OPENAI) from exc
        try:
            if not isinstance(body, bytes | bytearray | str) or len(body) > MAX_BODY:
                raise ValueError("not a body of at most MAX_BODY bytes")
            reply = json.loads(body)  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            choice = reply["choices"][0]
            if not isinstance(choice["message"]["content"], str):
                raise TypeError("content is not text")
        except IndexError as exc:
            raise self._error("returned no choices", "check the server's logs") from exc
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise self._error(
                f"returned garbage, not a chat completion ({type(exc).__name__})", OPENAI
            ) from exc
        return choice

    def read(self, question: str, sentences: Sequence[str]) -> Reading:
        """Judge one paragraph from the first token's YES/NO log-probabilities and parse the selection."""
        choice = self._complete(
            read_prompt(question, sentences),
            max_tokens=SELECT_TOKENS,
            logprobs=True,
            top_logprobs=TOP_LOGPROBS,
        )
        text: str = choice["message"]["content"]
        try:
            p_yes = _p_yes(choice.get("logprobs"))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as exc:
            raise self._error(f"returned garbage log-probabilities ({type(exc).__name__})", OPENAI) from exc
        if p_yes is None:  # no log-probabilities: judge from the reply
            verdict = _VERDICT.match(text)
            if verdict is None:
                snippet = " ".join(text.split())[:60]
                raise self._error(f"answered neither YES nor NO ({snippet!r})", "try another model")
            p_yes = 1.0 if verdict.group(1).upper() == "YES" else 0.0
        return Reading(p_yes, parse_selection(text, len(sentences)), text)

    def render(self, text: str, target: Lang, terms: Sequence[tuple[str, str]] = ()) -> str:
        """``text`` rendered in ``target`` by the server, cleaned to one paragraph."""
        choice = self._complete(render_prompt(text, target, terms), max_tokens=RENDER_TOKENS)
        return clean_rendering(choice["message"]["content"])


def _p_yes(logprobs: Any) -> float | None:
    """P(YES) normalised over YES and NO among the first token's top log-probabilities; None if absent."""
    if not logprobs or not logprobs.get("content"):
        return None
    first = logprobs["content"][0]
    yes = no = 0.0
    for entry in first.get("top_logprobs") or [first]:  # no alternatives: the chosen token alone
        word = str(entry["token"]).strip().upper()
        if word in ("YES", "NO"):
            p = math.exp(float(entry["logprob"]))
            yes, no = (yes + p, no) if word == "YES" else (yes, no + p)
    if not yes + no > 0:
        return None
    p_yes = yes / (yes + no)
    if not 0.0 <= p_yes <= 1.0:  # NaN from infinities
        raise ValueError("log-probabilities out of range")
    return p_yes


def _detail(exc: urllib.error.HTTPError) -> str:
    """`` (<server's message>)`` from an error response, at most one short line; empty if unreadable."""
    try:
        raw = exc.read(2000) or b""
    except (OSError, ValueError, AttributeError, http.client.HTTPException):
        raw = b""
    text = raw.decode("utf-8", "replace")
    try:
        error = json.loads(text).get("error", text)
        text = str(error.get("message", error) if isinstance(error, dict) else error)
    except (ValueError, AttributeError, RecursionError):
        pass
    text = " ".join((text or str(exc.reason or "")).split())[:120]
    return f" ({text})" if text else ""
