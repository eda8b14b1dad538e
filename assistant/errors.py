"""One error base class for everything a user can be told in one line, and the exit codes.

Every user-facing failure derives from :class:`AssistantError`: its message is one line that
names what is wrong and the command or setting that fixes it, and ``exit_code`` is what the
command line exits with. The CLI, batch, serve and the TUI all show it through
:func:`one_line`, so a failure reads the same everywhere.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ENV = 1
"""A missing, corrupted or stale index, a missing model, a bad corpus, a server that cannot start."""
EXIT_BAD_INPUT = 2
"""An unusable question, argument or input file."""
EXIT_SOME_ERRORS = 3
"""``batch`` finished, but some input rows became error records."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT)."""
EXIT_BROKEN_PIPE = 141
"""The output's reader closed the pipe (128 + SIGPIPE); nothing is printed."""


class AssistantError(Exception):
    """A failure the user can fix; ``str(exc)`` is one line that says how."""

    exit_code: int = EXIT_ENV


class QuestionError(AssistantError, ValueError):
    """A question that cannot be asked (empty, too long, unsupported language)."""

    exit_code = EXIT_BAD_INPUT


class UsageError(AssistantError):
    """An argument or option the command cannot use."""

    exit_code = EXIT_BAD_INPUT


class CorpusError(AssistantError):
    """A corpus folder, text file or metadata sidecar that cannot be used."""


class DocumentError(CorpusError):
    """A file given to ``assistant add`` that cannot be read (encrypted, corrupt, scanned, unsupported)."""

    exit_code = EXIT_BAD_INPUT


class GlossaryError(CorpusError):
    """A malformed ``glossary.tsv`` row in the corpus folder."""


class IndexStoreError(AssistantError):
    """A missing, corrupted, stale or incompatible index (one-line message with the fix)."""


class ModelError(AssistantError):
    """A model is missing, corrupt or unobtainable; the message names the fix."""


class ReaderError(AssistantError):
    """The reader model cannot be loaded or answered badly; the extractive answer still stands."""


class ServeError(AssistantError):
    """A server that cannot start or be reached (one-line message)."""


class BatchInputError(AssistantError):
    """A batch input or output file that cannot be used."""

    exit_code = EXIT_BAD_INPUT


class BatchWriteError(AssistantError):
    """A ``batch`` output that could not be written (full disk, I/O error); the records before it
    are kept and ``--resume`` completes it."""


class ServedError(AssistantError):
    """A failure a running ``assistant serve`` reported for a whole request: its one line and the
    exit code the in-process path would have used."""

    def __init__(self, message: str, exit_code: int = EXIT_ENV) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(exc: BaseException) -> str:
    """The message of a user-facing error as a single line (newlines folded)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def error_line(exc: BaseException) -> str:
    """What the command line prints on stderr for ``exc``: ``assistant: error: <message>``."""
    return f"assistant: error: {one_line(exc)}"
