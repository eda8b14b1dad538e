"""``assistant serve``: one resident Engine that later ``assistant ask`` calls reuse over a unix socket.

A cold ``ask`` spends most of its time importing torch, loading the model and building BM25; a
server pays that once. The wire format and the client are in ``assistant.apps.serve.client``.

Connections are accepted as they come (a deep backlog queues a burst instead of refusing it) and
each is read by a thread of its own under a deadline, so an idle or slow client blocks nobody and
``status`` answers at once. Questions go to one engine thread in the order they came (the engine
is not thread-safe, and one loaded model is the point); while a question waits or is answered its
connection gets a heartbeat.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from assistant.apps.serve.answering import ServedEngine, fail
from assistant.apps.serve.client import (
    BAD,
    HEARTBEAT,
    MAX_REQUEST_BYTES,
    TooLarge,
    code_stamp,
    encode_message,
    identity,
    private_dir,
    read_line,
    request,
    socket_path,
)
from assistant.engine import Engine
from assistant.errors import ServeError
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.index.embedder import Embedder

CLIENT_IO_TIMEOUT = 5.0  # how long a client may take to send its request or take the reply
BACKLOG = 512  # connections the kernel queues before accept(): a burst waits instead of being refused
MAX_CONNECTIONS = 64  # connections read at once; more wait in the backlog (each costs a thread)
SOCKET_CHECK_INTERVAL = 30.0


class AskServer:
    """One Engine answering ``ask`` requests on the unix socket for ``settings``, one at a time.

    ``start()`` claims the socket (ServeError if a live server has it), opens and warms the engine
    and listens; ``serve_forever()`` runs until ``stop()`` (any thread), a ``stop`` request or
    ``idle_timeout`` seconds without questions (0: never); ``close()`` removes the socket.
    ``embedder`` replaces the configured model (tests pass a deterministic fake).
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        idle_timeout: float = 0.0,
        log: Callable[[str], None] | None = None,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.settings = settings
        self.heartbeat = heartbeat
        self.path = socket_path(settings)
        self.idle_timeout = idle_timeout
        self._log = log or (lambda _message: None)
        self.answering = ServedEngine(settings, embedder, self._log)
        self._identity = identity(settings)
        self._code = code_stamp()
        self._listener: socket.socket | None = None
        self._inode: int | None = None
        self._stopping = False
        self._started = time.monotonic()
        self._last_question = time.monotonic()
        self._pending = 0  # questions queued or being answered (the idle clock waits for them)
        self._pending_lock = threading.Lock()
        self._connections = ThreadPoolExecutor(MAX_CONNECTIONS, thread_name_prefix="serve-conn")
        self._engine_thread = ThreadPoolExecutor(1, thread_name_prefix="serve-engine")
        # A self-pipe wakes the select() loop from stop(), a signal handler or another thread.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)

    @property
    def engine(self) -> Engine | None:
        """The resident engine (None before ``start``)."""
        return self.answering.engine

    @engine.setter
    def engine(self, engine: Engine) -> None:
        self.answering.engine = engine

    @property
    def requests(self) -> int:
        """Questions answered (a batch window counts each of its questions)."""
        return self.answering.requests

    # -- lifecycle

    def start(self) -> None:
        """Claim the socket, load and warm the engine, then listen (cleans up if anything fails)."""
        try:
            if not private_dir(self.path.parent, create=True):
                raise ServeError(f"refusing to use {self.path.parent}: not a private folder owned by you")
            self._refuse_if_live()  # before loading the model, so a duplicate fails fast
            self.answering.open()
            self._listen()
            self._started = time.monotonic()
        except BaseException:
            self.close()
            raise

    def _refuse_if_live(self) -> None:
        reply = request(self.settings, {"op": "status"}, timeout=5.0)
        if reply is not None:
            raise ServeError(
                f"a server for this index is already running (pid {reply.get('pid', '?')}); "
                "stop it with `assistant serve --stop`"
            )

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.path))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                listener.close()
                raise
            # The file exists: a server that started while we loaded, or a stale file from a crash.
            # (Two servers racing between bind() and listen() is self-healing: the loser notices
            # its socket file is gone within SOCKET_CHECK_INTERVAL and exits.)
            try:
                self._refuse_if_live()
                self.path.unlink()
                listener.bind(str(self.path))
            except BaseException:
                listener.close()
                raise
        os.chmod(self.path, 0o600)
        listener.listen(BACKLOG)
        listener.setblocking(False)
        self._listener = listener
        self._inode = os.stat(self.path).st_ino

    def stop(self) -> None:
        """Make ``serve_forever`` return after the current request (safe from signals and threads)."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def close(self) -> None:
        """Stop listening, finish the question being answered, drop the queued ones (their clients
        answer in-process) and remove our socket file (idempotent)."""
        self._connections.shutdown(wait=False, cancel_futures=True)
        self._engine_thread.shutdown(wait=True, cancel_futures=True)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            with contextlib.suppress(OSError):
                if os.stat(self.path).st_ino == self._inode:  # never remove a successor's socket
                    self.path.unlink()
        self._wake_r.close()
        self._wake_w.close()

    def serve_forever(self) -> None:
        """Answer requests until stopped or idle for ``idle_timeout`` seconds; then close()."""
        assert self._listener is not None, "call start() first"
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self._listener, selectors.EVENT_READ)
                sel.register(self._wake_r, selectors.EVENT_READ)
                self._last_question = time.monotonic()
                while not self._stopping:
                    timeout = SOCKET_CHECK_INTERVAL
                    if self.idle_timeout > 0:
                        idle = 0.0 if self._pending else time.monotonic() - self._last_question
                        timeout = min(timeout, max(self.idle_timeout - idle, 0.05))
                        if idle >= self.idle_timeout:
                            self._log(f"no questions for {self.idle_timeout:g}s; exiting")
                            return
                    for key, _ in sel.select(timeout):
                        if key.fileobj is self._listener:
                            self._accept_all()
                    if not self._socket_is_ours():
                        self._log(f"{self.path} was removed or replaced; exiting")
                        return
        finally:
            self.close()

    def _socket_is_ours(self) -> bool:
        # A /tmp cleaner may delete the socket; a server nobody can reach would only block successors.
        try:
            return os.stat(self.path).st_ino == self._inode
        except OSError:
            return False

    def _accept_all(self) -> None:
        """Hand every waiting connection to a thread of its own."""
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            conn.setblocking(True)
            try:
                self._connections.submit(self._serve_connection, conn)
            except RuntimeError:  # shutting down
                conn.close()
                return

    def _serve_connection(self, conn: socket.socket) -> None:
        """Read one request (within CLIENT_IO_TIMEOUT), answer it, close the connection."""
        with conn:
            try:
                raw = read_line(conn, MAX_REQUEST_BYTES, CLIENT_IO_TIMEOUT)
                reply = self.handle(raw, conn)
            except TooLarge as exc:
                reply = fail(BAD, f"bad request: {exc}")
            except OSError:
                return  # the client stalled or went away; nobody to answer
            except Exception:  # a bug must cost one request, never the server
                self._log("internal error:\n" + traceback.format_exc().rstrip())
                reply = fail("internal", "internal error", 1)
            with contextlib.suppress(OSError):
                conn.settimeout(CLIENT_IO_TIMEOUT)
                conn.sendall(encode_message(reply))

    def _queued(self, req: dict[str, Any], conn: socket.socket | None) -> dict[str, Any]:
        """``_ask`` on the engine thread, in arrival order; heartbeats to ``conn`` while it waits."""
        with self._pending_lock:
            self._pending += 1
        try:
            answering = self.answering
            work = answering.records if req.get("op") == "records" else answering.ask
            future: Future[dict[str, Any]] = self._engine_thread.submit(work, req)
            while True:
                try:
                    return future.result(timeout=self.heartbeat)
                except TimeoutError:
                    if conn is None:
                        continue
                    try:
                        conn.settimeout(CLIENT_IO_TIMEOUT)
                        conn.sendall(b"\n")
                    except OSError:
                        future.cancel()  # the client is gone: do not answer for nobody
                        raise
        finally:
            with self._pending_lock:
                self._pending -= 1
                self._last_question = time.monotonic()

    # -- requests

    def handle(self, raw: bytes, conn: socket.socket | None = None) -> dict[str, Any]:
        """The reply to one request line; never raises for a bad request.

        ``conn`` (if given) gets heartbeats while a question waits for the engine.
        """
        try:
            req = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return fail(BAD, "bad request: not a JSON object")
        if not isinstance(req, dict):
            return fail(BAD, "bad request: not a JSON object")
        op = req.get("op")
        if op == "status":
            return {"ok": True, **self.status()}
        if op == "stop":
            self.stop()
            return {"ok": True, "pid": os.getpid()}
        if op in ("ask", "records"):
            return self._queued(req, conn)
        return fail(BAD, f"bad request: unknown op {str(op)[:40]!r}")

    def status(self) -> dict[str, Any]:
        """pid, uptime, requests served and what is loaded."""
        return {
            "pid": os.getpid(),
            "uptime": time.monotonic() - self._started,
            "requests": self.requests,
            "build": self.answering.build,
            "code_changed": code_stamp() != self._code,
            "code": self._code,
            "about": self.answering.about(),
            **self._identity,
        }


def run_foreground(settings: Settings, embedder: Embedder | None = None, idle_timeout: float = 0.0) -> int:
    """``assistant serve``: start, report readiness on stderr, serve until Ctrl-C/SIGTERM/--stop/idle."""

    def log(message: str) -> None:
        print(f"assistant serve: {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    server = AskServer(settings, embedder, idle_timeout=max(0.0, idle_timeout), log=log)
    server.start()
    log(f"ready on {server.path} (pid {os.getpid()}, {time.perf_counter() - started:.1f}s to load and warm)")
    handlers = {}
    if threading.current_thread() is threading.main_thread():  # signal() only works there
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, lambda *_: server.stop())
    try:
        server.serve_forever()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        server.close()
    log(f"stopped after {server.requests} requests")
    return 0
