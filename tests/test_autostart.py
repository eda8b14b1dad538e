"""`ask` starts the resident engine itself: when, how often, and that it goes away again.

The server is a real background process (tests/fake_server.py: the real server with the hashing
embedder); the integration test at the end lets the real `assistant ask` start the real one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.apps.serve import autostart
from assistant.apps.serve.client import ask_server, request
from assistant.settings import Settings
from tests.conftest import run_cli as run

FAKE = Path(__file__).resolve().parent / "fake_server.py"
QUESTION = "什么是负向一体化？"


@pytest.fixture
def indexed(corpus: Path, capsys, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))  # its own runtime folder
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    code, _, err = run(["index"], corpus, capsys)
    assert code == 0, err
    return corpus


def settings_for(corpus: Path) -> Settings:
    return Settings.from_env(corpus_dir=corpus, index_dir=corpus.parent / "index")


def fake_command(corpus: Path, idle: float = 60.0) -> list[str]:
    return [sys.executable, str(FAKE), str(corpus), str(corpus.parent / "index"), str(idle)]


def stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return f.read().split(") ")[1][0] != "Z"  # a zombie has exited


@pytest.mark.parametrize(
    ("value", "at_terminal", "starts"),
    [
        ("auto", True, True),
        ("auto", False, False),  # a script or CI never gets a background process it did not ask for
        ("1", False, True),
        ("0", True, False),
    ],
)
def test_when_ask_starts_an_engine(value, at_terminal, starts) -> None:
    assert autostart.wanted(Settings(autoserve=value), at_terminal) is starts


@pytest.mark.parametrize(
    ("env", "autoserve", "idle"),
    [
        ({}, "auto", 900.0),
        ({"ASSISTANT_AUTOSERVE": "0"}, "0", 900.0),
        ({"ASSISTANT_AUTOSERVE": "off"}, "0", 900.0),
        ({"ASSISTANT_AUTOSERVE": "always"}, "1", 900.0),
        ({"ASSISTANT_AUTOSERVE": "maybe"}, "auto", 900.0),
        ({"ASSISTANT_SERVE_IDLE": "120"}, "auto", 120.0),
        ({"ASSISTANT_SERVE_IDLE": "-5"}, "auto", 900.0),
        ({"ASSISTANT_SERVE_IDLE": "soon"}, "auto", 900.0),
    ],
)
def test_settings_from_the_environment(monkeypatch, env, autoserve, idle) -> None:
    for name in ("ASSISTANT_AUTOSERVE", "ASSISTANT_SERVE_IDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert (settings.autoserve, settings.serve_idle) == (autoserve, idle)


def test_a_started_engine_answers_then_exits_when_idle(indexed) -> None:
    settings = settings_for(indexed)
    waits: list[float] = []
    pid = autostart.start_server(settings, fake_command(indexed, idle=1.5), on_wait=waits.append)
    assert pid is not None
    try:
        served = ask_server(settings, QUESTION, k=None, doc=None, as_json=False, explain=False)
        assert served is not None and "demo-2020:p1" in served.output
        assert waits and waits == sorted(waits)  # the spinner was told how long it has waited
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid)  # idle for 1.5 s: gone, socket removed
        assert request(settings, {"op": "status"}, timeout=2.0) is None
    finally:
        stop(pid)


def test_a_server_that_cannot_start_gives_none_at_once(indexed) -> None:
    settings = settings_for(indexed)
    broken = [sys.executable, "-c", "import sys; sys.exit(1)"]
    assert autostart.start_server(settings, broken) is None
    assert autostart.log_path(settings).is_file()  # where a failing server says why


def test_the_note_is_shown_once_and_names_the_way_out(indexed) -> None:
    settings = settings_for(indexed)
    assert autostart.first_time(settings) is True
    assert autostart.first_time(settings) is False
    text = autostart.note(4242, settings)
    assert "pid 4242" in text and "15 min" in text and "assistant serve --stop" in text
    assert "--no-server" in text and "ASSISTANT_AUTOSERVE=0" in text and "\n" not in text


def test_the_command_runs_this_interpreter_on_these_folders(indexed) -> None:
    settings = settings_for(indexed)
    command = autostart.serve_command(settings)
    assert command[0] == sys.executable and command[-3:] == ["serve", "--idle-timeout", "900"]
    assert str(indexed.resolve()) in command and str((indexed.parent / "index").resolve()) in command


# ---------------------------------------------------------------- the real thing


def _ask(env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.apps.cli", "ask", "--no-reader", *flags, QUESTION],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.integration
def test_ask_starts_one_engine_for_a_burst_and_later_asks_use_it(tmp_path) -> None:
    """Three real `assistant ask` at once with no server (real model, sample corpus, its own index):
    one starts the engine, the others wait for it; each answer equals the in-process one; the
    note is printed once; a later ask is served; `serve --stop` ends the engine."""
    repo = Path(__file__).resolve().parent.parent
    index = tmp_path / "index"
    env = {
        **os.environ,
        "ASSISTANT_CORPUS": str(repo / "corpus"),
        "ASSISTANT_INDEX": str(index),
        "ASSISTANT_AUTOSERVE": "1",
        "ASSISTANT_SERVE_IDLE": "120",
    }
    env.pop("XDG_RUNTIME_DIR", None)
    subprocess.run([sys.executable, "-m", "assistant.apps.cli", "index"], env=env, check=True, timeout=900)
    expected = _ask(env, "--no-server")
    assert expected.returncode == 0, expected.stderr
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [threading.Thread(target=lambda: results.append(_ask(env))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    settings = Settings.from_env(corpus_dir=repo / "corpus", index_dir=index)
    try:
        assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
        assert all(r.stdout == expected.stdout for r in results)
        notes = [r.stderr for r in results if "started a background engine" in r.stderr]
        assert len(notes) <= 1  # once for this user (an earlier run may have shown it already)
        status = request(settings, {"op": "status"}, timeout=10.0)
        assert status is not None and status["requests"] == 3  # one engine answered all three
        later = _ask(env)
        assert later.returncode == 0 and later.stdout == expected.stdout
        assert "started a background engine" not in later.stderr
    finally:
        stopped = subprocess.run(
            [sys.executable, "-m", "assistant.apps.cli", "serve", "--stop"],
            env=env,
            capture_output=True,
            text=True,
        )
    assert stopped.returncode == 0, stopped.stdout
    assert request(settings, {"op": "status"}, timeout=2.0) is None
