"""`assistant serve` under load: bursts queue instead of being refused, idle clients block nobody,
questions wait their turn with heartbeats, fallbacks take turns, and the socket folder is private.

Real sockets, real threads and (for the load test) real `assistant ask` processes; the server runs
in a background thread of the test process with the hashing embedder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.apps.serve.client import in_process_slot, request, runtime_dir, socket_path
from assistant.apps.serve.server import AskServer
from assistant.engine import Engine, Settings
from assistant.errors import ServeError
from assistant.index.embedder import HashingEmbedder
from tests.conftest import run_cli as run

QUESTION = "什么是负向一体化？"


@pytest.fixture
def indexed(corpus: Path, capsys) -> Path:
    code, _, err = run(["index"], corpus, capsys)
    assert code == 0, err
    return corpus


def settings_for(corpus: Path, **overrides: object) -> Settings:
    return Settings.from_env(corpus_dir=corpus, index_dir=corpus.parent / "index", **overrides)


class GatedEngine(Engine):
    """The real engine, whose answers wait until ``gate`` is set (a slow question, made on purpose)."""

    gate = threading.Event()

    def ask(self, *args, **kwargs):
        self.gate.wait(30)
        return super().ask(*args, **kwargs)


@contextlib.contextmanager
def serving(settings: Settings, heartbeat: float = 2.0, gated: bool = False) -> Iterator[AskServer]:
    server = AskServer(settings, HashingEmbedder(64), heartbeat=heartbeat)
    server.start()
    if gated:
        e = server.engine
        assert e is not None
        server.engine = GatedEngine(e.settings, e.embedder, e.index, reader=None)
        GatedEngine.gate = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        if gated:
            GatedEngine.gate.set()
        server.stop()
        thread.join(timeout=60)
        assert not thread.is_alive()


def ask_message(settings: Settings) -> dict:
    from assistant.apps.serve.client import code_stamp, identity

    return {
        "op": "ask",
        **identity(settings),
        "code": code_stamp(),
        "question": QUESTION,
        "k": None,
        "doc": None,
        "json": False,
        "explain": False,
        "reader": False,
    }


# ---------------------------------------------------------------- connections


def test_idle_connections_do_not_delay_status(indexed) -> None:
    """Eight clients that connect and say nothing used to hold the one request loop 5 s each."""
    settings = settings_for(indexed)
    with serving(settings) as server, contextlib.ExitStack() as stack:
        for _ in range(8):
            idle = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
            idle.connect(str(server.path))
        reply = request(settings, {"op": "status"}, timeout=3.0)
        assert reply is not None and reply["ok"] and reply["pid"] == os.getpid()


def test_a_burst_of_connections_is_queued_not_refused(indexed) -> None:
    """100 connections opened at once (the old backlog of 16 refused most of them)."""
    settings = settings_for(indexed)
    with serving(settings) as server, contextlib.ExitStack() as stack:
        socks = []
        for _ in range(100):
            sock = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
            sock.settimeout(0.2)  # the client's connect timeout
            sock.connect(str(server.path))
            socks.append(sock)
        for sock in socks:
            sock.settimeout(30)
            sock.sendall(b'{"op": "status"}\n')
        replies = [sock.makefile("rb").readline() for sock in socks]
        assert all(b'"ok":true' in r for r in replies)


@pytest.mark.parametrize(("heartbeat", "answered"), [(0.2, True), (60.0, False)])
def test_questions_wait_their_turn_kept_alive_by_heartbeats(indexed, heartbeat, answered) -> None:
    """Six questions behind a slow one: each client allows 1 s of silence. With heartbeats every
    0.2 s all six are answered by the one engine, in turn; without them the clients give up."""
    settings = settings_for(indexed)
    results: list[dict | None] = []
    with serving(settings, heartbeat=heartbeat, gated=True) as server:
        threads = [
            threading.Thread(target=lambda: results.append(request(settings, ask_message(settings), 1.0)))
            for _ in range(6)
        ]
        for t in threads:
            t.start()
        threading.Timer(2.5, GatedEngine.gate.set).start()
        for t in threads:
            t.join(60)
        if answered:
            assert len(results) == 6 and all(r and r["ok"] and "demo-2020:p1" in r["output"] for r in results)
            assert server.requests == 6
        else:
            assert results == [None] * 6


# ---------------------------------------------------------------- answering in-process, in turn


def test_in_process_fallbacks_take_turns(tmp_path) -> None:
    settings = settings_for(tmp_path / "corpus", cache_dir=tmp_path / "cache")
    holding, release, seen = threading.Event(), threading.Event(), []

    def first() -> None:
        with in_process_slot(settings) as waited:
            seen.append(("first", waited))
            holding.set()
            release.wait(30)

    def second() -> None:
        holding.wait(30)
        with in_process_slot(settings) as waited:
            seen.append(("second", waited))

    a, b = threading.Thread(target=first), threading.Thread(target=second)
    a.start()
    b.start()
    holding.wait(30)
    b.join(0.5)
    assert b.is_alive() and seen == [("first", False)]  # the second is blocked on the slot
    release.set()
    a.join(30)
    b.join(30)
    assert seen == [("first", False), ("second", True)]


# ---------------------------------------------------------------- where the socket lives


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A private folder with a short path (a socket's whole path must fit in ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="xdg-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("xdg", [True, False], ids=["XDG_RUNTIME_DIR", "cache"])
def test_the_socket_folder_is_private_and_not_the_shared_temp(
    indexed, tmp_path, monkeypatch, short_dir, xdg
) -> None:
    run_base = short_dir
    if xdg:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(run_base))
    else:
        monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    settings = settings_for(indexed)
    expected = run_base / "assistant" if xdg else tmp_path / "cache" / "run"
    assert runtime_dir(settings) == expected
    # Another local user squatting the old shared-temp name no longer stops anything.
    squat = Path("/tmp") / f"assistant-{os.getuid()}"
    with serving(settings) as server:
        assert server.path.parent == expected and not str(server.path).startswith(str(squat) + "/")
        folder, sock = os.lstat(expected), os.lstat(server.path)
        assert stat.S_IMODE(folder.st_mode) == 0o700 and folder.st_uid == os.getuid()
        assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o600
        assert request(settings, {"op": "status"}, timeout=5.0) is not None


def test_another_user_squatting_the_shared_temp_name_blocks_nothing(indexed, tmp_path, monkeypatch) -> None:
    """A real second user (nobody) creates /tmp/assistant-<uid> first, which used to keep every
    server of ours from starting; the socket no longer lives there."""
    if os.getuid() != 0:
        pytest.skip("running a process as another user needs root")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    squat = Path("/tmp") / f"assistant-{os.getuid()}"
    if squat.exists():
        pytest.skip(f"{squat} exists already; not touching it")
    made = subprocess.run(["mkdir", "-m", "0777", str(squat)], user=65534, capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot run a process as nobody here: {made.stderr.decode().strip()[:80]}")
    try:
        assert os.lstat(squat).st_uid == 65534
        settings = settings_for(indexed)
        with serving(settings) as server:
            assert not server.path.is_relative_to(squat)
            assert request(settings, {"op": "status"}, timeout=5.0) is not None
    finally:
        os.rmdir(squat)


def test_a_socket_folder_owned_by_someone_else_is_refused(indexed, tmp_path, monkeypatch) -> None:
    if os.getuid() != 0:
        pytest.skip("making a folder owned by another user needs root")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    settings = settings_for(indexed)
    folder = runtime_dir(settings)
    folder.mkdir(parents=True, mode=0o700)
    os.chown(folder, 65534, 65534)  # nobody
    with pytest.raises(ServeError, match="not a private folder owned by you"):
        AskServer(settings, HashingEmbedder(64)).start()
    assert socket_path(settings).parent == folder


# ---------------------------------------------------------------- fifty real `ask` processes


@pytest.mark.integration
def test_fifty_concurrent_ask_processes_all_answered_by_one_engine(indexed, tmp_path) -> None:
    """Fifty `assistant ask` processes at once (bounded: 120 s, loopback socket only): every one is
    answered by the server (none loads a model of its own), and the server's memory grows little."""
    settings = settings_for(indexed)
    env = {**os.environ, "ASSISTANT_CORPUS": str(indexed), "ASSISTANT_INDEX": str(indexed.parent / "index")}
    env.pop("XDG_RUNTIME_DIR", None)
    with serving(settings) as server:
        before = _rss_kb()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CLIENT, "ask", "--no-reader", QUESTION],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(50)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
        grown_mb = (_rss_kb() - before) / 1024
        codes = [p.returncode for p in procs]
        assert codes == [0] * 50, outputs[codes.index(next(c for c in codes if c))][1][-500:]
        assert all(b"demo-2020:p1" in out for out, _ in outputs)
        assert server.requests == 50  # all served: none answered in-process
    # Each client's own peak, read by itself (a forked child's rusage would count this big pytest)
    children_peak_mb = max(int(err.rsplit(b"peak-kb ", 1)[1]) for _, err in outputs) / 1024
    assert children_peak_mb < 300, children_peak_mb  # a client that loaded the model would be > 1 GB
    assert grown_mb < 100, grown_mb


# `assistant ask` that reports its own peak resident size (VmHWM) as its last stderr line.
CLIENT = """
import sys
from assistant.apps.cli import main
try:
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status", encoding="ascii") as f:
        peak = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    sys.stderr.write(f"peak-kb {peak}\\n")
sys.exit(code)
"""


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
