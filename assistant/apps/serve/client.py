"""The client half of ``assistant serve`` and the wire format both halves share.

The server itself is in ``assistant.apps.serve.server``; this module stays light so that ``assistant ask``
can hand a question to a running server without importing torch, faiss or jieba.


A cold ``ask`` spends most of its time importing torch, loading the model and building BM25; a
server pays that once. Protocol: the client connects to :func:`socket_path` (one socket per index,
corpus and model setting), sends one JSON object on one line and reads one JSON line back::

    {"op": "ask", "question": ..., "k": ..., "doc": [...], "json": ..., "explain": ..., "reader": ...,
     <identity>}
    -> {"ok": true, "output": "<exactly what the in-process path prints>"}
    -> {"ok": false, "code": "error", "error": "<one line>", "exit": 1}   (print it and exit)
    -> {"ok": false, "code": "not-mine" | "bad-request" | "internal", ...}  (answer in-process)

plus ``{"op": "status"}`` and ``{"op": "stop"}``. The server reads every connection at once but
answers questions one at a time from its one engine (which is not thread-safe), in the order they
came; while a question waits or is being answered the server sends a bare newline every
:data:`HEARTBEAT` seconds, so a client tells "busy" (keep waiting) from "hung" (answer in-process).
Only the standard library is used, and the client half imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.settings import PACKAGE_DIR, Settings

MAX_REQUEST_BYTES = 64 * 1024
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
CONNECT_TIMEOUT = 0.2  # a live server accepts at once (its backlog queues); slower means "no server"
HEARTBEAT = 2.0  # a server sends "\n" this often while a question waits or is being answered
READ_TIMEOUT = 30.0  # silence this long (no reply, no heartbeat) means the server is stuck
MAX_WAIT = 900.0  # however busy the server is, a client waits no longer than this in all
FINAL = "error"  # the one error code the client prints as is; any other code means "answer in-process"
NOT_MINE = "not-mine"
BAD = "bad-request"


class TooLarge(ValueError):
    pass


# ---------------------------------------------------------------- shared by client and server


def identity(settings: Settings) -> dict[str, str]:
    """What a server answers for: resolved index and corpus folders and the model setting."""
    return {
        "index": str(settings.resolved_index_dir.resolve()),
        "corpus": str(settings.corpus_dir.resolve()),
        "model": settings.model or "",
    }


def code_stamp() -> str:
    """A fingerprint of the whole package's code (paths, sizes, mtimes of every module in it).

    A server keeps running the code it started with; after an edit or upgrade its answers could
    differ from the in-process path's, so clients with another stamp answer in-process instead.
    """
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        with contextlib.suppress(OSError):
            st = path.stat()
            rel = path.relative_to(PACKAGE_DIR).as_posix()
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:16]


def runtime_dir(settings: Settings) -> Path:
    """The per-user folder of sockets and locks.

    ``$XDG_RUNTIME_DIR/assistant`` when the login session provides one (private to the user by
    design), else ``<cache>/run`` in the user's own cache. Not the shared temp folder: there
    another local user could create ``assistant-<uid>`` first and so keep every server from
    starting. ``/tmp/assistant-<uid>`` is the last resort, for paths too long for a socket.
    """
    candidates = [settings.cache_dir / "run"]
    if settings.runtime_base is not None:
        candidates.insert(0, settings.runtime_base / "assistant")
    for folder in candidates:
        # AF_UNIX paths are limited to ~107 bytes; the socket name adds 22 to the folder.
        if len(os.fsencode(folder.expanduser().absolute())) + 22 < 100:
            return folder.expanduser().absolute()
    return Path("/tmp") / f"assistant-{os.getuid()}"


def socket_path(settings: Settings) -> Path:
    """The socket of the server for these settings (a hash, so a long index path still fits)."""
    ident = identity(settings)
    key = "\0".join((ident["index"], ident["corpus"], ident["model"])).encode("utf-8", "surrogatepass")
    return runtime_dir(settings) / f"{hashlib.sha256(key).hexdigest()[:16]}.sock"


def private_dir(path: Path, create: bool) -> bool:
    """True if ``path`` is a real folder owned by us that nobody else can enter (made if ``create``)."""
    if create:
        with contextlib.suppress(OSError):  # exists already (checked below) or cannot be made
            path.parent.mkdir(parents=True, exist_ok=True)  # a fresh cache folder
            path.mkdir(mode=0o700)
    try:
        st = os.lstat(path)
    except OSError:
        return False
    # A symlink, someone else's folder or one others can enter (in a shared /tmp): never trust it.
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def encode_message(message: dict[str, Any]) -> bytes:
    # ASCII escapes keep every string (even lone surrogates from odd argv bytes) round-tripping exactly.
    return (json.dumps(message, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def read_line(sock: socket.socket, limit: int, timeout: float, idle: float | None = None) -> bytes:
    """One non-empty line (without the newline) or everything up to EOF.

    ``timeout`` bounds the whole read; with ``idle``, the read also fails after that long without a
    byte. Empty lines before the line (the server's heartbeats) are skipped.
    """
    started = time.monotonic()
    last = started
    buf = bytearray()
    while b"\n" not in buf:
        now = time.monotonic()
        remaining = started + timeout - now
        if idle is not None:
            remaining = min(remaining, last + idle - now)
        if remaining <= 0:
            raise TimeoutError("timed out reading")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            break
        last = time.monotonic()
        buf += chunk
        del buf[: len(buf) - len(buf.lstrip(b"\n"))]  # heartbeats
        if len(buf) > limit and b"\n" not in buf[: limit + 1]:
            raise TooLarge(f"request too large (limit {limit // 1024} KB)")
    return bytes(buf.split(b"\n", 1)[0])


def request(settings: Settings, message: dict[str, Any], timeout: float = READ_TIMEOUT) -> dict | None:
    """Send one request to the server for ``settings``; None when no server answered sensibly.

    ``timeout`` is how long the server may stay silent (heartbeats count as an answer).
    """
    path = socket_path(settings)
    if not private_dir(path.parent, create=False):
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(str(path))
            sock.settimeout(timeout)
            sock.sendall(encode_message(message))
            reply = json.loads(read_line(sock, MAX_RESPONSE_BYTES, MAX_WAIT, idle=timeout).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None  # no socket, nobody listening, timed out, or garbage: all mean "no server"
    return reply if isinstance(reply, dict) else None


@contextlib.contextmanager
def in_process_slot(settings: Settings) -> Iterator[bool]:
    """Hold the one slot for answering in-process when the server did not; yields whether it waited.

    A burst of ``ask`` calls that all miss the server (it is starting, or stuck) would otherwise
    each load their own model (1.35 GB apiece) and exhaust memory; with the slot they take turns,
    and one that had to wait can try the server again first. Without a private runtime folder
    there is no safe place for the lock, so nothing is held.
    """
    folder = runtime_dir(settings)
    if not private_dir(folder, create=True):
        yield False
        return
    path = socket_path(settings).with_suffix(".local.lock")
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            waited = False
        except BlockingIOError:
            fcntl.flock(handle, fcntl.LOCK_EX)
            waited = True
        try:
            yield waited
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Served:
    """A server's final reply to ``ask``: the text to print, or a one-line error and its exit code."""

    output: str = ""
    error: str | None = None
    exit: int = 0
    notice: str = ""
    """The reader's one-line notice, if it failed (the answer is then extractive)."""


def ask_server(
    settings: Settings,
    question: str,
    *,
    k: int | None,
    doc: Sequence[str] | None,
    as_json: bool,
    explain: bool,
    reader: bool = True,
    fingerprint: str | None = None,
) -> Served | None:
    """Ask the running server for these settings; None means "answer in this process instead".

    ``fingerprint`` (set when the caller injected its own embedder) must match the server's model.
    """
    reply = request(
        settings,
        {
            "op": "ask",
            **identity(settings),
            "index_arg": str(settings.resolved_index_dir),
            "code": code_stamp(),
            "fingerprint": fingerprint,
            "question": question,
            "k": k,
            "doc": list(doc) if doc else None,
            "json": as_json,
            "explain": explain,
            "reader": reader,
        },
    )
    if reply is None:
        return None
    if reply.get("ok") is True and isinstance(reply.get("output"), str):
        notice = reply.get("notice")
        return Served(output=reply["output"], notice=notice if isinstance(notice, str) else "")
    error, code = reply.get("error"), reply.get("exit")
    if reply.get("code") == FINAL and isinstance(error, str) and isinstance(code, int) and code:
        return Served(error=error, exit=code)
    return None  # not ours, a request this server version rejects, or its own failure: stay correct


def print_status(settings: Settings) -> int:
    """Print whether a server runs for these settings; 0 if it does, 1 if not."""
    reply = request(settings, {"op": "status"}, timeout=10.0)
    index = settings.resolved_index_dir
    if reply and reply.get("ok"):
        up = int(reply.get("uptime", 0))
        print(
            f"running: pid {reply.get('pid')}, up {up // 3600}h{up // 60 % 60:02d}m{up % 60:02d}s, "
            f"{reply.get('requests')} requests served, build {reply.get('build')}, "
            f"index {index}, socket {socket_path(settings)}"
        )
        if reply.get("code_changed"):
            print("note: the code changed since it started, so `ask` answers in-process; restart it")
        return 0
    print(f"not running: no server for index {index}")
    return 1


def stop_server(settings: Settings, wait: float = 30.0) -> int:
    """Ask the server for these settings to exit and wait until its socket is gone; 1 if none ran."""
    reply = request(settings, {"op": "stop"}, timeout=10.0)
    if not (reply and reply.get("ok")):
        print(f"not running: no server for index {settings.resolved_index_dir}")
        return 1
    path, deadline = socket_path(settings), time.monotonic() + wait
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f"stopped the server (pid {reply.get('pid')})")
    return 0
