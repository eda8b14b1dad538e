"""`assistant serve`: served answers equal in-process ones, errors match, and every failure falls back.

The server runs in a background thread of the test process with the hashing embedder; the client is
the real `main(["ask", ...])` path, which finds the server through the socket derived from its settings.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.apps.cli import main
from assistant.apps.serve.client import (
    MAX_REQUEST_BYTES,
    ask_server,
    identity,
    request,
    socket_path,
)
from assistant.apps.serve.server import AskServer
from assistant.engine import Settings
from assistant.errors import ServeError
from assistant.index.embedder import HashingEmbedder
from tests.conftest import assert_one_line_error
from tests.conftest import run_cli as run

QUESTIONS = ["什么是负向一体化？", "What does negative integration mean?"]


def append_section(corpus: Path, text: str) -> None:
    """Add a section to the tiny corpus's one document (the corpus then differs from its index)."""
    doc = corpus / "demo-2020.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + text, encoding="utf-8")


def settings_for(corpus: Path) -> Settings:
    return Settings.from_env(corpus_dir=corpus, index_dir=corpus.parent / "index")


@contextlib.contextmanager
def serving(corpus: Path, log: list[str] | None = None) -> Iterator[AskServer]:
    """A started server for the corpus's index, answering in a background thread until the block ends."""
    server = AskServer(
        settings_for(corpus), HashingEmbedder(64), log=(log.append if log is not None else None)
    )
    server.start()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=60)
        assert not thread.is_alive()


def raw_request(path: Path, data: bytes) -> dict | None:
    """Send raw bytes to the server and return its JSON reply (None if it closed without one)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        with contextlib.suppress(OSError):  # the server may stop reading an oversized request early
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return json.loads(reply) if reply else None


def without_timings(out: str) -> str:
    """The output with the timings_ms numbers blanked (wall-clock numbers differ between any two runs)."""
    return re.sub(r'"timings_ms": \{[^}]*\}', '"timings_ms": {}', out)


@pytest.fixture
def indexed(corpus: Path, capsys) -> Path:
    code, _, err = run(["index"], corpus, capsys)
    assert code == 0, err
    return corpus


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize(
    "flags", [[], ["--json"], ["--explain"], ["--json", "--explain"], ["-k", "1", "--doc", "demo-2020"]]
)
def test_served_output_equals_in_process(indexed, capsys, question, flags) -> None:
    with serving(indexed) as server:
        code, served, err = run(["ask", *flags, question], indexed, capsys)
        assert (code, err, server.requests) == (0, "", 1)
        code, local, err = run(["ask", "--no-server", *flags, question], indexed, capsys)
        assert (code, err, server.requests) == (0, "", 1)
    assert without_timings(served) == without_timings(local)
    if "--json" in flags:
        assert without_timings(served) != served  # the blanking above did match something
    else:
        assert served == local


@pytest.mark.parametrize(
    "question",
    ["   ", "贸" * 1001, "Какой сегодня день?", "a\x00b", "\udcff负向一体化"],
    ids=["blank", "too-long", "russian", "nul", "surrogate"],
)
def test_bad_question_through_server_gives_the_in_process_error(indexed, capsys, question) -> None:
    code, out, err = run(["ask", "--no-server", question], indexed, capsys)
    assert code == 2 and out == ""
    with serving(indexed) as server:
        # The CLI rejects these before connecting; ask the server directly to check it agrees.
        served = ask_server(settings_for(indexed), question, k=None, doc=None, as_json=False, explain=False)
        assert served is not None and server.requests == 1
    assert (served.exit, f"assistant: error: {served.error}\n") == (code, err)


def test_no_server_falls_back_in_process(indexed, capsys) -> None:
    assert not socket_path(settings_for(indexed)).exists()
    code, out, err = run(["ask", QUESTIONS[0]], indexed, capsys)
    assert code == 0 and err == "" and "demo-2020:p" in out


def test_server_for_another_index_is_not_used(indexed, capsys, tmp_path) -> None:
    other = tmp_path / "other" / "corpus"
    other.mkdir(parents=True)
    for f in indexed.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    assert run(["index"], other, capsys)[0] == 0
    with serving(indexed) as server:
        assert socket_path(settings_for(other)) != server.path
        code, out, err = run(["ask", QUESTIONS[0]], other, capsys)
        assert code == 0 and err == "" and out and server.requests == 0
        # Even a request that reaches the wrong server is refused as "not mine" (the client falls back).
        request = {"op": "ask", **identity(settings_for(other)), "question": QUESTIONS[0], "code": "x"}
        reply = raw_request(server.path, json.dumps(request).encode() + b"\n")
        assert reply is not None and reply["code"] == "not-mine" and server.requests == 0


def test_other_embedder_or_code_is_not_mine(indexed, capsys) -> None:
    with serving(indexed) as server:
        # A client whose model differs must not get this server's answers: it falls back and fails as
        # it would without a server (the index was built by another model).
        code, _, err = run(["ask", QUESTIONS[0]], indexed, capsys, HashingEmbedder(32))
        assert code == 1 and "another model" in err and server.requests == 0
        request = {"op": "ask", **identity(settings_for(indexed)), "question": QUESTIONS[0], "code": "older"}
        reply = raw_request(server.path, json.dumps(request).encode() + b"\n")
        assert reply is not None and reply["code"] == "not-mine"


def test_stale_socket_file_falls_back_and_server_replaces_it(indexed, capsys) -> None:
    path = socket_path(settings_for(indexed))
    path.parent.mkdir(mode=0o700, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a socket file nobody listens on, as a killed server leaves behind
    dead.close()
    assert path.exists()
    code, out, err = run(["ask", QUESTIONS[0]], indexed, capsys)
    assert code == 0 and err == "" and out
    with serving(indexed) as server:
        assert run(["ask", QUESTIONS[0]], indexed, capsys)[0] == 0 and server.requests == 1
    assert not path.exists()


def test_second_server_on_the_same_socket_is_refused(indexed, capsys) -> None:
    with serving(indexed) as server:
        with pytest.raises(ServeError, match="already running"):
            AskServer(settings_for(indexed), HashingEmbedder(64)).start()
        code, out, err = run(["serve"], indexed, capsys)
        assert code == 1 and out == ""
        assert_one_line_error(err)
        assert "already running" in err
        assert run(["ask", QUESTIONS[0]], indexed, capsys)[0] == 0 and server.requests == 1


def test_rebuilt_index_is_reloaded(indexed, capsys) -> None:
    log: list[str] = []
    with serving(indexed, log) as server:
        code, before, _ = run(["ask", "新增段落是什么？"], indexed, capsys)
        assert code == 0 and "demo-2020:p3" not in before
        append_section(indexed, "\n三、新增\n\n新增段落讨论监管合作。\n")
        assert run(["index"], indexed, capsys)[0] == 0
        code, after, err = run(["ask", "新增段落是什么？"], indexed, capsys)
        assert (code, err, server.requests) == (0, "", 2)
        assert "demo-2020:p3" in after
        assert after == run(["ask", "--no-server", "新增段落是什么？"], indexed, capsys)[1]
    assert any("reloaded" in line for line in log)


def test_corpus_changed_without_rebuild_gives_the_rebuild_hint(indexed, capsys) -> None:
    with serving(indexed) as server:
        append_section(indexed, "\n三、新增\n\n新增段落。\n")
        code, out, err = run(["ask", QUESTIONS[0]], indexed, capsys)
        assert (code, out, server.requests) == (1, "", 1)
        assert_one_line_error(err)
        assert "out of date" in err and "assistant index" in err
        assert (code, out, err) == run(["ask", "--no-server", QUESTIONS[0]], indexed, capsys)
        assert run(["index"], indexed, capsys)[0] == 0
        assert run(["ask", QUESTIONS[0]], indexed, capsys)[0] == 0 and server.requests == 2


@pytest.mark.parametrize("via_symlink", [False, True], ids=["same-path", "symlinked-index"])
def test_removed_index_gives_the_in_process_error(indexed, capsys, via_symlink) -> None:
    index = indexed.parent / "index"
    if via_symlink:  # the client spells the index folder differently: the message must use its spelling
        (indexed.parent / "link").symlink_to(index)
        index = indexed.parent / "link"
    base = ["--corpus", str(indexed), "--index", str(index), "ask"]
    with serving(indexed) as server:
        (index / "CURRENT").unlink()
        code = main([*base, QUESTIONS[0]], HashingEmbedder(64))
        served = capsys.readouterr()
        assert code == 1 and server.requests == 1
        assert f"no index found in {index};" in served.err
        assert main([*base, "--no-server", QUESTIONS[0]], HashingEmbedder(64)) == code
        assert capsys.readouterr() == served


@pytest.mark.parametrize(
    "data",
    [
        b"not json\n",
        b"[1, 2]\n",
        b"\xff\xfe\n",
        b'{"op": "dance"}\n',
        b'{"op": "ask"}\n',
        b'{"op": "ask", "question": 3}\n',
        b'{"op": "ask", "question": "q", "k": -1}\n',
        b'{"op": "ask", "question": "q", "doc": "demo"}\n',
        b"[" * 60_000 + b"\n",
        b"x" * (MAX_REQUEST_BYTES + 10),
        b"",
    ],
    ids=lambda d: repr(d[:30]),
)
def test_malformed_request_gets_an_error_and_the_server_keeps_serving(indexed, capsys, data) -> None:
    with serving(indexed) as server:
        reply = raw_request(server.path, data)
        if data:
            assert reply is not None and reply["ok"] is False and reply["exit"] == 2
            assert reply["error"].startswith("bad request") and "\n" not in reply["error"]
        code, out, _ = run(["ask", QUESTIONS[0]], indexed, capsys)
        assert code == 0 and out and server.requests == 1


def test_serve_status_and_stop_through_the_cli(indexed, capsys) -> None:
    base = ["--corpus", str(indexed), "--index", str(indexed.parent / "index")]
    assert main([*base, "serve", "--status"]) == 1
    assert main([*base, "serve", "--stop"]) == 1
    assert capsys.readouterr().out.count("not running: no server for index") == 2
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(main([*base, "serve"], HashingEmbedder(64))))
    thread.start()
    for _ in range(1200):  # wait for "ready" (bounds a hung test; not a timing assertion)
        if request(settings_for(indexed), {"op": "status"}) is not None or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert main([*base, "ask", QUESTIONS[1]], HashingEmbedder(64)) == 0
    assert main([*base, "serve", "--status"]) == 0
    assert main([*base, "serve", "--stop"]) == 0
    thread.join(timeout=60)
    out, err = capsys.readouterr()
    assert result == [0]
    assert "running: pid" in out and "1 requests served" in out and "stopped the server" in out
    assert "ready on" in err and "stopped after 1 requests" in err
    assert not socket_path(settings_for(indexed)).exists()


def test_idle_timeout_exits_and_removes_the_socket(indexed, capsys) -> None:
    code, _, err = run(["serve", "--idle-timeout", "0.3"], indexed, capsys)
    assert code == 0
    assert "ready on" in err and "no questions for 0.3s" in err
    assert not socket_path(settings_for(indexed)).exists()


def test_served_client_stays_light(indexed) -> None:
    """A served `ask` imports neither torch nor jieba nor faiss in the client process."""
    code = (
        "import sys; from assistant.apps.cli import main; "
        "from assistant.index.embedder import HashingEmbedder; "
        f"rc = main(['--corpus', {str(indexed)!r}, '--index', {str(indexed.parent / 'index')!r}, "
        f"'ask', {QUESTIONS[0]!r}], HashingEmbedder(64)); "
        "heavy = ('torch', 'sentence_transformers', 'transformers', 'faiss', 'jieba', 'bm25s', 'textual'); "
        "print(rc, ','.join(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    with serving(indexed) as server:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert server.requests == 1
    assert proc.stderr.strip() == "0", proc.stderr
    assert "demo-2020:p" in proc.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_a_foreground_server_cleanly(indexed, sig) -> None:
    code = (
        "import sys; from assistant.apps.cli import main; "
        "from assistant.index.embedder import HashingEmbedder; "
        f"sys.exit(main(['--corpus', {str(indexed)!r}, '--index', {str(indexed.parent / 'index')!r}, "
        "'serve'], HashingEmbedder(64)))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(1200):  # wait for "ready" (bounds a hung test; not a timing assertion)
            if request(settings_for(indexed), {"op": "status"}) is not None or proc.poll() is not None:
                break
            threading.Event().wait(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped after 0 requests" in err and "Traceback" not in err
    assert not socket_path(settings_for(indexed)).exists()
