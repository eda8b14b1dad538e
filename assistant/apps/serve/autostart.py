"""Starting the resident engine from ``assistant ask`` when none is running.

A user who asks five questions should not wait for the model five times. When ``ask`` finds no
server, it starts ``assistant serve --idle-timeout N`` in the background (its own session, so it
outlives the ``ask`` and a Ctrl-C there), waits until it answers, and hands the question to it.
Only one ``ask`` starts a server: the others wait on the same lock and then find it running. A
server that fails to start costs nothing but the wait: the question is answered in-process.

Whether to start one is :attr:`Settings.autoserve`: ``auto`` (the default) only when the user is
at a terminal (a script or CI never gets a background process it did not ask for), ``1`` always,
``0`` never. Standard library only: this runs in the light ``ask`` client.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.apps.serve.client import private_dir, request, runtime_dir, socket_path
from assistant.settings import Settings

READY_WAIT = 300.0  # a cold start on a loaded 2-core machine took 26 s; a stuck one is given up on
NOTED = ".autostart-noted"


def wanted(settings: Settings, at_terminal: bool) -> bool:
    """Whether ``ask`` should start a server for these settings."""
    return settings.autoserve == "1" or (settings.autoserve == "auto" and at_terminal)


def serve_command(settings: Settings) -> list[str]:
    """The command that runs the server for ``settings`` (same interpreter, same folders)."""
    return [
        sys.executable,
        "-m",
        "assistant.apps.cli",
        "--corpus",
        str(settings.corpus_dir.resolve()),
        "--index",
        str(settings.resolved_index_dir.resolve()),
        "serve",
        "--idle-timeout",
        f"{settings.serve_idle:g}",
    ]


def start_server(
    settings: Settings,
    command: Sequence[str] | None = None,
    on_wait: Callable[[float], None] | None = None,
) -> int | None:
    """Start a background server and wait until it answers; its pid, or None if it did not come up.

    ``command`` replaces :func:`serve_command` (tests run a server with a fake model).
    ``on_wait(seconds_so_far)`` is called while waiting (a spinner).
    """
    folder = runtime_dir(settings)
    if not private_dir(folder, create=True):
        return None
    with open(log_path(settings), "ab") as err:
        proc = subprocess.Popen(
            list(command or serve_command(settings)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # outlives this ask, and its Ctrl-C
            close_fds=True,
        )
    started = time.monotonic()
    while time.monotonic() - started < READY_WAIT:
        if request(settings, {"op": "status"}, timeout=5.0) is not None:
            return proc.pid
        if proc.poll() is not None:
            return None  # it exited: a broken index or model; the in-process answer names the fix
        if on_wait is not None:
            on_wait(time.monotonic() - started)
        time.sleep(0.1)
    with contextlib.suppress(OSError):
        proc.kill()
    return None


def first_time(settings: Settings) -> bool:
    """True the first time this user gets a background server (the note is shown once)."""
    folder = runtime_dir(settings)
    marker = folder / NOTED
    if marker.exists() or not private_dir(folder, create=True):
        return not marker.exists()
    with contextlib.suppress(OSError):
        marker.touch()
    return True


def note(pid: int, settings: Settings) -> str:
    """The one line that says a background engine was started, and how to stop or avoid it."""
    minutes = settings.serve_idle / 60
    return (
        f"started a background engine (pid {pid}) so later questions answer in about a second; it "
        f"exits after {minutes:g} min without questions. Stop it with `assistant serve --stop`; "
        "never start one with --no-server or ASSISTANT_AUTOSERVE=0"
    )


def log_path(settings: Settings) -> Path:
    """Where a background server's own messages go."""
    return socket_path(settings).with_suffix(".log")
