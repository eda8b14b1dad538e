"""Progress on the slow steps (issue #15) and the model's load time kept out of per-question timings.

Every clock here is a fake one the test moves (no sleeping, no timed assertions); every terminal is a
string buffer that claims to be one. What a terminal finally shows is worked out by replaying the
cursor moves and erasures in :func:`screen`.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.answer.abstain import AbstentionPolicy
from assistant.answer.record import answer_record, schema_problems
from assistant.apps import progress
from assistant.apps.progress import BarTracker, PlainTracker, about, count_line, spinner, track
from assistant.engine import Engine, Settings
from assistant.index.embedder import HashingEmbedder
from assistant.index.store import build_index, load_index
from tests.conftest import META, make_documents, run_cli


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    """A captured stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class SlowEmbedder(HashingEmbedder):
    """The hashing embedder, each call taking ``seconds`` of a fake clock."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        super().__init__(64)
        self.clock, self.seconds = clock, seconds

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.clock.now += self.seconds
        return super().encode_queries(texts)

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> np.ndarray:
        self.clock.now += self.seconds
        return super().encode_documents(texts, titles)


class LazyEmbedder(HashingEmbedder):
    """The hashing embedder with a model that takes ``seconds`` of a fake clock to load on first use,
    as SentenceTransformerEmbedder's does (its ``model`` and ``loaded``)."""

    def __init__(self, clock: Clock, seconds: float, loaded: bool = False) -> None:
        super().__init__(128)
        self.clock, self.seconds, self._loaded = clock, seconds, loaded

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def model(self) -> LazyEmbedder:
        if not self._loaded:
            self.clock.now += self.seconds
            self._loaded = True
        return self

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.model  # noqa: B018 -- the first encode loads the model, as the real embedder does
        return super().encode_queries(texts)


def screen(raw: str) -> list[str]:
    """The lines a terminal shows after ``raw``: text, carriage returns, newlines, cursor-up and
    erase-line replayed; colours and cursor visibility ignored."""
    lines, row, col = [""], 0, 0
    for token in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)", raw):
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        elif token.startswith("\x1b["):
            arg, op = token[2:-1], token[-1]
            if op == "A":
                row = max(0, row - int(arg or 1))
            elif op == "K":
                lines[row] = "" if arg == "2" else lines[row][:col]
        elif token:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    return lines


def erased(raw: str) -> bool:
    return all(not line.strip() for line in screen(raw))


# --- the plain lines of a log -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (3, "about 5 s left"),
        (41, "about 40 s left"),
        (59, "about 1 min left"),
        (110, "about 2 min left"),
        (3725, "about 1 h 2 min left"),
    ],
)
def test_time_left_in_words(seconds: float, words: str) -> None:
    assert about(seconds) == words


def test_a_count_line_reads_like_the_issue_asks() -> None:
    assert (
        count_line("embedding", 240, 803, "chunks", 5.1)
        == "embedding 240/803 chunks, 5.1/s, about 2 min left"
    )
    assert count_line("answering", 16, 201, "questions", None) == "answering 16/201 questions"


# (time, done) reports for 100 chunks, and the lines a log gets. Every 10 s, or at each tenth of the
# work but never within 2 s of the last line (or of the start), never for the last chunk; the rate
# counts from the first report on (what came before it was mostly the model loading).
CADENCE = [
    ("a quick job says nothing", [(0.5, 30), (1.0, 60), (1.9, 100)], []),
    (
        "tenths, held back within 2 s of the last line",
        [(1, 5), (3, 12), (4, 25), (6, 27)],
        [
            "embedding 12/100 chunks, 3.5/s, about 25 s left",
            "embedding 27/100 chunks, 4.4/s, about 15 s left",
        ],
    ),
    (
        "every 10 s though no tenth is crossed",
        [(1, 5), (3, 12), (12.9, 14), (13, 14), (22, 15), (23, 15)],
        [
            "embedding 12/100 chunks, 3.5/s, about 25 s left",
            "embedding 14/100 chunks, 0.8/s, about 2 min left",
            "embedding 15/100 chunks, 0.5/s, about 3 min left",
        ],
    ),
    ("the first report after a long wait has no rate yet", [(25, 64)], ["embedding 64/100 chunks"]),
    ("not the last one: the command's own line follows", [(15, 100)], []),
]


@pytest.mark.parametrize(("case", "reports", "lines"), CADENCE, ids=[c[0] for c in CADENCE])
def test_plain_line_cadence(case: str, reports: list[tuple[float, int]], lines: list[str]) -> None:
    clock, out = Clock(), io.StringIO()
    tracker = PlainTracker("embedding", "chunks", out, clock)
    for now, done in reports:
        clock.now = now
        tracker.count(done, 100)
    assert out.getvalue().splitlines() == lines


def test_reading_files_says_something_only_when_it_is_slow() -> None:
    clock, out = Clock(), io.StringIO()
    tracker = PlainTracker("embedding", "chunks", out, clock)
    for k, now in enumerate([0, 1, 2, 3, 11, 12, 20, 21.5]):  # a cached library reads in a second or two
        clock.now = now
        tracker.file(Path(f"paper-{k}.pdf"), k, 8)
    assert out.getvalue().splitlines() == ["reading files 5/8: paper-4.pdf", "reading files 8/8: paper-7.pdf"]


def test_a_second_pass_counts_its_rate_afresh() -> None:
    clock, out = Clock(), io.StringIO()
    tracker = PlainTracker("answering", "questions", out, clock)
    for now, done in [(10, 16), (20, 32)]:
        clock.now = now
        tracker.count(done, 40)
    tracker.restart("answering with the reader")
    for now, done in [(30, 16), (60, 32)]:  # the reader is three times slower: so is the rate shown
        clock.now = now
        tracker.count(done, 40)
    assert out.getvalue().splitlines() == [
        "answering 16/40 questions",
        "answering 32/40 questions, 1.6/s, about 5 s left",
        "answering with the reader 16/40 questions",
        "answering with the reader 32/40 questions, 0.5/s, about 15 s left",
    ]


# --- a bar on a terminal only ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "tty", "kind"),
    [
        (Tty(), None, BarTracker),
        (io.StringIO(), None, PlainTracker),
        (io.StringIO(), True, BarTracker),  # told it is a terminal (rich's force_terminal)
        (Tty(), False, PlainTracker),
    ],
)
def test_a_bar_only_on_a_terminal(stream: io.StringIO, tty: bool | None, kind: type) -> None:
    clock = Clock()
    with track("embedding", "chunks", stream=stream, tty=tty, clock=clock) as steps:
        assert isinstance(steps, kind)
        steps.file(Path("paper.pdf"), 0, 1)
        for done in (64, 128):
            clock.now += 20
            steps.count(done, 200)
    raw = stream.getvalue()
    if kind is BarTracker:
        assert "embedding" in raw and "128/200" in raw and "chunks/s" in raw  # count and rate were drawn
        assert erased(raw)  # ... and are gone once the work is done
    else:
        assert raw.splitlines() == [
            "embedding 64/200 chunks",
            "embedding 128/200 chunks, 3.2/s, about 25 s left",
        ]


def test_index_build_prints_periodic_lines_to_a_log(tmp_path, capsys, monkeypatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = "\n\n".join(f"第{i}条规定：成员方应当协调第{i}项监管标准，以降低合规成本。" for i in range(1, 201))
    (corpus / "demo-2020.txt").write_text(f"一、概念\n\n{body}\n", encoding="utf-8")
    (corpus / "demo-2020.toml").write_text(META, encoding="utf-8")
    clock = Clock()
    monkeypatch.setattr(progress, "monotonic", clock)
    # 200 chunks in batches of 64, each batch 10 s of the fake clock; stderr is not a terminal
    code, out, err = run_cli(["index"], corpus, capsys, SlowEmbedder(clock, 10))
    assert code == 0
    assert err.splitlines() == [
        "embedding 64/200 chunks, 6.4/s, about 20 s left",  # timed from the "0/200" report
        "embedding 128/200 chunks, 6.4/s, about 10 s left",
        "embedding 192/200 chunks, 6.4/s, about 5 s left",
    ]
    assert out.startswith("indexed 1 documents") and out.count("\n") == 1  # stdout: the final line alone


def test_eval_progress_goes_to_stderr_and_leaves_the_report_alone(
    corpus, tmp_path, capsys, monkeypatch
) -> None:
    assert run_cli(["index"], corpus, capsys)[0] == 0
    questions = tmp_path / "mine.jsonl"
    item = {
        "question": "什么是负向一体化？",
        "lang": "zh",
        "answerable": True,
        "doc_id": "demo-2020",
        "evidence": ["消除歧视性的贸易壁垒"],
    }
    questions.write_text(
        "".join(json.dumps({"id": f"q{i}", **item}) + "\n" for i in range(40)), encoding="utf-8"
    )
    clock = Clock()
    monkeypatch.setattr(progress, "monotonic", clock)
    args = ["eval", "--questions", str(questions)]
    _, quiet, quiet_err = run_cli(args, corpus, capsys, SlowEmbedder(clock, 0))  # no time passes: no line
    code, out, err = run_cli(args, corpus, capsys, SlowEmbedder(clock, 10))  # batches of 16, 10 s each
    assert code == 0 and quiet_err == ""
    assert err.splitlines() == [
        "answering 16/40 questions",
        "answering 32/40 questions, 1.6/s, about 5 s left",
    ]

    def unmeasured(text: str) -> str:
        return re.sub(r"\d+ ms", "N ms", text)  # latencies are real wall-clock times

    assert unmeasured(out) == unmeasured(quiet) and out.startswith("Evaluation of mine.jsonl")


# --- the cold `ask` spinner -----------------------------------------------------------------------


@pytest.mark.parametrize("tty", [True, False])
def test_spinner_shows_then_erases_itself_and_never_touches_stdout(tty: bool, capsys) -> None:
    stream = Tty() if tty else io.StringIO()
    with spinner("loading the model", stream=stream) as say:
        say("answering")
    raw = stream.getvalue()
    if tty:
        assert "loading the model …" in raw and "answering …" in raw and erased(raw)
    else:
        assert raw == ""
    assert capsys.readouterr().out == ""


def test_cold_ask_spins_on_a_terminal_only(corpus, capsys, monkeypatch) -> None:
    assert run_cli(["index"], corpus, capsys)[0] == 0
    ask = ["ask", "--no-server", "什么是负向一体化？"]
    code, plain_out, plain_err = run_cli(ask, corpus, capsys)
    assert code == 0 and plain_err == ""  # stderr not a terminal: not a byte
    terminal = Tty()
    monkeypatch.setattr("sys.stderr", terminal)
    code, out, _ = run_cli(ask, corpus, capsys)
    raw = terminal.getvalue()
    assert code == 0 and "loading the model and the index …" in raw and "answering …" in raw
    assert erased(raw)  # gone before the answer is printed
    assert out == plain_out and "\x1b" not in out


# --- the model's load time, apart -----------------------------------------------------------------


@pytest.fixture
def lazy_engine(documents, tmp_path) -> tuple[Engine, Clock]:
    """An engine whose embedding model takes 5 s (of a fake clock) to load on first use."""
    clock = Clock()
    embedder = LazyEmbedder(clock, 5.0)
    build_index(documents, HashingEmbedder(128), tmp_path / "index", "c1")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    engine = Engine(
        settings, embedder, load_index(tmp_path / "index"), policy=AbstentionPolicy({"zh": 0.2, "en": 0.2})
    )
    engine.clock = clock
    return engine, clock


def test_the_load_is_reported_apart_on_the_first_answer_only(lazy_engine) -> None:
    engine, _ = lazy_engine
    first = engine.ask("什么是负向一体化？")
    second = engine.ask("多哈回合谈判什么时候开始？")
    # the fake clock moves only while the model loads: without the separation it lands in "embed"
    assert first.timings_ms == {"load": 5000.0, "embed": 0.0, "search": 0.0, "compose": 0.0, "total": 0.0}
    assert "load" not in second.timings_ms
    record = answer_record(first, engine.documents, "q1")
    assert record["timings_ms"]["load"] == 5000.0 and schema_problems(record) == []


def test_in_a_batch_only_the_first_question_carries_the_load(lazy_engine) -> None:
    engine, _ = lazy_engine
    answers = engine.ask_many(
        ["什么是负向一体化？", "多哈回合谈判什么时候开始？", "What is negative integration?"]
    )
    assert [a.timings_ms.get("load") for a in answers] == [5000.0, None, None]
    assert [a.timings_ms["embed"] for a in answers] == [0.0, 0.0, 0.0]


def test_loading_ahead_is_reported_by_the_next_answer(lazy_engine) -> None:
    engine, clock = lazy_engine
    engine.load()  # as `ask` and `eval` do, behind their spinner
    assert clock.now == 5.0
    engine.load()  # once only
    assert clock.now == 5.0
    assert engine.ask("什么是负向一体化？").timings_ms["load"] == 5000.0


def test_an_embedder_already_loaded_reports_no_load(lazy_engine) -> None:
    engine, clock = lazy_engine
    shared = Engine(engine.settings, LazyEmbedder(clock, 5.0, loaded=True), engine.index)  # serve's reload
    shared.clock = clock
    assert "load" not in shared.ask("什么是负向一体化？").timings_ms


def test_hashing_embedder_load_is_tiny_but_on_the_first_question_only(tmp_path) -> None:
    documents, embedder = make_documents(), HashingEmbedder(128)
    build_index(documents, embedder, tmp_path / "index", "c1")
    engine = Engine(
        Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index"), embedder, load_index(tmp_path / "index")
    )
    first, second = engine.ask("什么是负向一体化？"), engine.ask("什么是负向一体化？")
    assert 0.0 <= first.timings_ms["load"] < 1000.0
    assert "load" not in second.timings_ms
    parts = first.timings_ms["embed"] + first.timings_ms["search"] + first.timings_ms["compose"]
    assert first.timings_ms["total"] == pytest.approx(parts)  # the total leaves the load out


def test_progress_module_is_light() -> None:
    """The CLI imports it on light paths: rich (and the engine) only once a display is drawn."""
    code = (
        "import sys, assistant.apps.progress, assistant.apps.eval_cli, assistant.apps.library_cli; "
        "print(','.join(m for m in ('rich', 'numpy', 'assistant.engine') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
