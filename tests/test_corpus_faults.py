"""Library files that are no usable document: one line naming the file and the fix, never a
traceback or a hang (issue #16).

Each fault is made for real in a temporary library: a file name in GBK bytes as an unpacked zip
archive leaves it, a folder named like a document, a symlink loop, a FIFO, a socket, a file without
read permission. They go through the loader and through ``assistant index``, ``ask`` and ``add``
in-process (hashing embedder, as in test_faults.py). A watchdog alarm turns a hang into a failure.
Only the I/O-error case simulates its fault (no test machine has a failing disk at hand).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.errors import EXIT_BAD_INPUT, EXIT_ENV, CorpusError
from assistant.ingest.corpus import load_corpus, read_meta, source_files
from tests.conftest import META, TEXT, assert_one_line_error
from tests.conftest import run_cli as run

REPO = Path(__file__).resolve().parent.parent
QUESTION = "什么是负向一体化？"
GBK_NAME = b"\xb9\xfa"  # 国 in GBK: not UTF-8, so Python holds it as surrogate escapes


class Hang(Exception):
    """The watchdog fired: the command blocked (a FIFO opened for reading waits forever)."""


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Fail, instead of hanging the suite, when a command blocks for 30 seconds."""

    def fire(signum: int, frame: object) -> None:
        raise Hang("blocked for 30 s (a FIFO opened for reading?)")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# --- the faults, made for real -------------------------------------------------------------------


def _gbk_named(d: Path) -> None:
    """A document and its sidecar named in GBK bytes, as `unzip` leaves a Windows archive."""
    base = os.path.join(os.fsencode(d), GBK_NAME)
    with open(base + b".txt", "wb") as f:
        f.write(TEXT.encode("utf-8"))
    with open(base + b".toml", "wb") as f:
        f.write(META.replace("demo-2020", "guo-2020").encode("utf-8"))


def _folder(d: Path) -> None:
    (d / "x-2021.txt").mkdir()
    (d / "x-2021.toml").write_text('doc_id = "x-2021"\ntitle = "文件夹"\n', encoding="utf-8")


def _loop(d: Path) -> None:
    (d / "a.txt").symlink_to("b.txt")
    (d / "b.txt").symlink_to("a.txt")


def _fifo(d: Path) -> None:
    os.mkfifo(d / "pipe-2021.txt")
    (d / "pipe-2021.toml").write_text('doc_id = "pipe-2021"\ntitle = "管道"\n', encoding="utf-8")


def _fifo_sidecar(d: Path) -> None:
    (d / "demo-2020.toml").unlink()
    os.mkfifo(d / "demo-2020.toml")


def _link_to_fifo(d: Path) -> None:
    os.mkfifo(d / "pipe.bin")
    (d / "linked-2021.txt").symlink_to("pipe.bin")


def _socket(d: Path) -> None:
    cwd = os.getcwd()
    os.chdir(d)  # bind by a relative name: a socket path is limited to 108 bytes
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("sock-2021.txt")
        sock.close()  # the socket file stays
    finally:
        os.chdir(cwd)


def _unreadable(d: Path) -> None:
    (d / "demo-2020.txt").chmod(0)


# (id, make the fault in the library folder, the file the error names, what it says)
FAULTS: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("gbk-file-name", _gbk_named, r"\xb9\xfa.t", "not valid UTF-8; rename it to UTF-8, e.g. to '国."),
    ("folder-named-txt", _folder, "x-2021.txt", "is a folder"),
    ("symlink-loop", _loop, "a.txt", "symlink loop"),
    ("fifo-txt", _fifo, "pipe-2021.txt", "named pipe (FIFO)"),
    ("fifo-sidecar", _fifo_sidecar, "demo-2020.toml", "named pipe (FIFO)"),
    ("symlink-to-fifo", _link_to_fifo, "linked-2021.txt", "named pipe (FIFO)"),
    ("socket-txt", _socket, "sock-2021.txt", "a socket"),
    ("fifo-glossary", lambda d: os.mkfifo(d / "glossary.tsv"), "glossary.tsv", "named pipe (FIFO)"),
    ("chmod-000", _unreadable, "demo-2020.txt", "Permission denied); make it readable (chmod u+r"),
]

ROOT_READS_ANYTHING = pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads a chmod 000 file, so EACCES cannot happen; see the simulated case"
)


def _cases() -> list:
    return [
        pytest.param(make, name, says, id=fid, marks=[ROOT_READS_ANYTHING] if fid == "chmod-000" else [])
        for fid, make, name, says in FAULTS
    ]


def _assert_names(message: str, name: str, says: str) -> None:
    assert name in message and says in message, message
    message.encode("utf-8")  # printable: no surrogate escapes that would crash a UTF-8 terminal


@pytest.mark.parametrize(("make", "name", "says"), _cases())
def test_loader_refuses_in_one_line(corpus: Path, make, name: str, says: str) -> None:
    make(corpus)
    with pytest.raises(CorpusError) as err:
        load_corpus(corpus)
    _assert_names(str(err.value), name, says)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("make", "name", "says"), _cases())
def test_index_and_ask_refuse_in_one_line(corpus: Path, capsys, make, name: str, says: str) -> None:
    assert run(["index"], corpus, capsys)[0] == 0
    make(corpus)
    for command in (["index"], ["ask", "--no-server", QUESTION]):
        code, out, err = run(command, corpus, capsys)
        assert (code, out) == (EXIT_ENV, ""), (command, err)
        assert_one_line_error(err)
        _assert_names(err, name, says)


@pytest.mark.parametrize(("make", "name", "says"), _cases())
def test_add_to_a_library_holding_the_fault_refuses_it(
    corpus: Path, tmp_path: Path, capsys, make, name: str, says: str
) -> None:
    new = tmp_path / "new.txt"
    new.write_text("边境后措施\n\n" + TEXT.replace("负向", "消极"), encoding="utf-8")
    make(corpus)
    before = sorted(os.fsencode(p.name) for p in corpus.iterdir())
    code, out, err = run(["add", str(new)], corpus, capsys)
    assert (code, out) == (EXIT_ENV, "")
    assert_one_line_error(err)
    _assert_names(err, name, says)
    assert sorted(os.fsencode(p.name) for p in corpus.iterdir()) == before  # nothing added


# --- files handed to `assistant add` -------------------------------------------------------------


def _gbk_input(path: Path) -> Path:
    raw = os.path.join(os.fsencode(path.parent), GBK_NAME + b".txt")
    with open(raw, "wb") as f:
        f.write(("边境后措施\n\n" + TEXT).encode("utf-8"))
    return Path(os.fsdecode(raw))


def _fifo_input(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _loop_input(path: Path) -> Path:
    path.symlink_to(path.with_name("other.txt"))
    path.with_name("other.txt").symlink_to(path.name)
    return path


ADD_INPUTS = [
    pytest.param(_gbk_input, r"\xb9\xfa.txt", "not valid UTF-8", id="gbk-file-name"),
    pytest.param(_fifo_input, "paper.txt", "named pipe (FIFO)", id="fifo"),
    pytest.param(_loop_input, "paper.txt", "symlink loop", id="symlink-loop"),
]


@pytest.mark.parametrize(("make", "name", "says"), ADD_INPUTS)
def test_add_refuses_an_unusable_input_file(corpus: Path, tmp_path: Path, capsys, make, name, says) -> None:
    (tmp_path / "in").mkdir()
    path = make(tmp_path / "in" / "paper.txt")
    before = sorted(p.name for p in corpus.iterdir())
    code, out, err = run(["add", str(path)], corpus, capsys)
    assert (code, out) == (EXIT_BAD_INPUT, "")
    assert_one_line_error(err)
    _assert_names(err, name, says)
    assert sorted(p.name for p in corpus.iterdir()) == before


# --- I/O errors while reading (simulated: the only monkeypatch here) -----------------------------


@pytest.mark.parametrize(
    ("target", "error", "says"),
    [
        ("demo-2020.txt", errno.EIO, "(Input/output error); the disk or share failed"),
        ("demo-2020.txt", errno.EACCES, "(Permission denied); make it readable"),
        ("demo-2020.toml", errno.EIO, "(Input/output error); the disk or share failed"),
        ("demo-2020.toml", errno.EACCES, "(Permission denied); make it readable"),
    ],
    ids=["txt-eio", "txt-eacces", "toml-eio", "toml-eacces"],
)
def test_read_error_names_the_file(corpus: Path, capsys, monkeypatch, target: str, error: int, says: str):
    """A read that fails after the checks passed (a disk or network share failing mid-read)."""
    real_read_bytes, real_read_text = Path.read_bytes, Path.read_text

    def failing(real: Callable) -> Callable:
        def read(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
            if self.name == target:
                raise OSError(error, os.strerror(error), str(self))
            return real(self, *args, **kwargs)

        return read

    monkeypatch.setattr(Path, "read_bytes", failing(real_read_bytes))
    monkeypatch.setattr(Path, "read_text", failing(real_read_text))
    code, out, err = run(["index"], corpus, capsys)
    assert (code, out) == (EXIT_ENV, "")
    assert_one_line_error(err)
    _assert_names(err, target, says)


# --- sidecar keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sidecar", "says"),
    [
        ('doc_id = "a-2020"\ntitle = 5\n', "'title' must be a string"),
        ('doc_id = "a-2020"\ntitle = ["标题"]\n', "'title' must be a string"),
        ('doc_id = "a-2020"\ntitle = "标题"\njournal = 2020\n', "'journal' must be a string"),
        ('doc_id = "a-2020"\ntitel = "标题"\n', "'title' is missing (is 'titel' a misspelling of it?)"),
        ('doc_id = "a-2020"\n', "'title' is missing; add"),
    ],
    ids=["title-int", "title-list", "journal-int", "title-misspelt", "title-missing"],
)
def test_bad_sidecar_value_says_what_is_wrong(tmp_path: Path, sidecar: str, says: str) -> None:
    side = tmp_path / "a.toml"
    side.write_text(sidecar, encoding="utf-8")
    with pytest.raises(CorpusError) as err:
        read_meta(side)
    assert says in str(err.value) and "a.toml" in str(err.value)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ('titel_en = "x"\n', "unknown key 'titel_en' (did you mean 'title_en'?) ignored"),
        ('dro_lines = ["^x$"]\n', "unknown key 'dro_lines' (did you mean 'drop_lines'?) ignored"),
        (
            'keywords = ["贸易"]\nautors = ["乙"]\n',
            "unknown keys 'autors' (did you mean 'authors'?), 'keywords' ignored",
        ),
    ],
    ids=["titel_en", "dro_lines", "two-keys"],
)
def test_unknown_sidecar_keys_are_named_on_stderr(corpus: Path, capsys, extra: str, says: str) -> None:
    (corpus / "demo-2020.toml").write_text(META + extra, encoding="utf-8")
    code, out, err = run(["index"], corpus, capsys)
    assert code == 0 and "indexed 1 documents" in out
    assert err.startswith("assistant: note: ") and err.count("\n") == 1, err
    assert "demo-2020.toml" in err and says in err


def test_the_shipped_sidecars_and_add_written_keys_give_no_note(tmp_path: Path, capsys) -> None:
    """corpus/*.toml (drop_lines ...) and what `assistant add` writes (source, sha256, pages, added)."""
    load_corpus(REPO / "corpus")
    side = tmp_path / "a.toml"
    side.write_text(
        'doc_id = "a-2020"\ntitle = "t"\nsource = "a.pdf"\nsha256 = "00"\npages = 3\nadded = "2024"\n'
        'doi = "10.1/x"\nissue = "3"\nyear = 2020\nauthors = ["甲"]\n',
        encoding="utf-8",
    )
    read_meta(side)
    assert capsys.readouterr().err == ""


def test_regular_files_and_symlinks_inside_are_still_taken(corpus: Path) -> None:
    (corpus / "alias-2021.txt").symlink_to("demo-2020.txt")
    (corpus / "alias-2021.toml").write_text('doc_id = "alias-2021"\ntitle = "别名"\n', encoding="utf-8")
    (corpus / "notes").mkdir()  # a folder that is no document's name is left alone
    os.mkfifo(corpus / "pipe.log")  # and so is a FIFO of another type: never opened
    assert [p.name for p in source_files(corpus)] == ["alias-2021.txt", "demo-2020.txt"]
    assert {d.doc_id for d in load_corpus(corpus)} == {"alias-2021", "demo-2020"}
