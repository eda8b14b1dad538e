"""End to end with the real model (EmbeddingGemma) over the real corpus. Slow: marked ``integration``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.answer import evals
from assistant.answer.record import answer_record, schema_problems
from assistant.engine import Engine, Settings, build
from assistant.index.models import resolve_model, verify_model
from assistant.index.store import load_index

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    """A fresh index over the real corpus (embeddings come from the shared content-hash cache)."""
    s = Settings(corpus_dir=ROOT / "corpus", index_dir=tmp_path_factory.mktemp("index"))
    build(s)
    return s


@pytest.fixture(scope="module")
def engine(settings) -> Engine:
    return Engine.open(settings, reader=None)  # extractive; the reader has tests/test_integration_reader.py


def test_model_files_match_the_canonical_digests() -> None:
    spec = resolve_model()
    verify_model(spec.path, spec.digests, full=True)


def test_negative_integration_is_cited_from_its_definition(engine: Engine) -> None:
    answer = engine.ask("What does negative integration mean?")
    record = answer_record(answer, engine.documents)
    assert schema_problems(record) == []
    assert answer.answerable and answer.lang == "en"
    first = answer.citations[0]
    assert first.paragraph.doc_id == "xu-geng-2021"
    assert "负向一体化" in first.paragraph.text and "负向一体化" in first.paragraph.section_label
    assert first.quote in first.paragraph.text


@pytest.mark.parametrize("question", ["How do I bake sourdough bread at home?", "红烧肉怎么做才好吃？"])
def test_off_topic_questions_abstain(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert not answer.answerable and answer.citations == ()
    assert len(answer.passages) >= 5


def test_dev_questions_first_citation(engine: Engine) -> None:
    items = [i for i in evals.load_items(ROOT / "evals" / "questions.jsonl") if "dev20" in i.tags]
    results = evals.run_eval(items, engine.ask_many)
    table = evals.grouped(results)
    print("\n" + evals.markdown_table(table))
    assert table["all"]["quote_exact"] == 1.0
    # Measured 2026-11-22 with hybrid retrieval: zh 0.90, en 1.00 (closing note of issue 2);
    # set a little below so a regression fails.
    assert table["lang=zh"]["first_citation"] >= 0.8
    assert table["lang=en"]["first_citation"] >= 0.9


def test_cli_ask_json_in_a_subprocess(settings: Settings) -> None:
    env = {
        **os.environ,
        "ASSISTANT_INDEX": str(settings.index_dir),
        "ASSISTANT_CORPUS": str(settings.corpus_dir),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.apps.cli", "ask", "--json", "多哈回合谈判是什么时候开始的？"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert schema_problems(record) == []
    assert record["lang"] == "zh" and record["answerable"]


def test_a_resident_server_answers_like_the_process_itself(settings: Settings) -> None:
    """`assistant serve` with the real model: `ask` goes through it and prints the in-process output."""
    env = {
        **os.environ,
        "ASSISTANT_INDEX": str(settings.index_dir),
        "ASSISTANT_CORPUS": str(settings.corpus_dir),
    }
    cli = [sys.executable, "-m", "assistant.apps.cli"]
    question = "What does negative integration mean?"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], capture_output=True, text=True, env=env, timeout=300)

    local = run("ask", "--no-server", question)
    server = subprocess.Popen([*cli, "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        while line and "ready on" not in line:
            line = server.stderr.readline()
        assert "ready on" in line, "the server exited before it was ready"
        served = run("ask", question)
        status = run("serve", "--status")
    finally:
        run("serve", "--stop")
        server.communicate(timeout=60)
    assert served.returncode == 0, served.stderr
    assert served.stdout == local.stdout
    assert status.returncode == 0 and "1 requests served" in status.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_interrupted_index_keeps_the_previous_index(tmp_path: Path, sig: signal.Signals) -> None:
    """A build stopped mid-embedding (real model, cold embedding cache) by Ctrl-C (exit 130 and a
    one-line message) or SIGKILL (no chance to clean up) leaves the previous index live and usable."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("yang-nd.txt", "yang-nd.toml"):
        shutil.copy(ROOT / "corpus" / name, corpus / name)
    env = {
        **os.environ,
        "ASSISTANT_CORPUS": str(corpus),
        "ASSISTANT_INDEX": str(tmp_path / "index"),
        "ASSISTANT_CACHE": str(tmp_path / "cache"),
        "ASSISTANT_MODEL": str(resolve_model().path),
    }
    cli = [sys.executable, "-m", "assistant.apps.cli"]
    subprocess.run([*cli, "index"], env=env, check=True, capture_output=True, timeout=600)
    before = load_index(tmp_path / "index").manifest
    added = ("li-2023.txt", "li-2023.toml", "xu-geng-2021.txt", "xu-geng-2021.toml")
    for name in added:
        shutil.copy(ROOT / "corpus" / name, corpus / name)
    proc = subprocess.Popen(
        [*cli, "index"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        proc.wait(timeout=20)  # model load + the start of embedding ~200 new chunks
    except subprocess.TimeoutExpired:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        # progress lines may come first (stderr is a log here); the error itself is one line, last
        errors = [line for line in err.splitlines() if line.startswith("assistant: ")]
        assert errors == [err.strip().splitlines()[-1]] and "interrupted" in errors[0], err
        assert "Traceback" not in err
    else:
        assert proc.returncode == -signal.SIGKILL, err
    assert load_index(tmp_path / "index").manifest == before
    for name in added:  # back to the corpus the live index was built from: it answers
        (corpus / name).unlink()
    ask = subprocess.run(
        [*cli, "ask", "--no-server", "--json", "区块链跨境溯源系统有什么作用？"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ask.returncode == 0, ask.stderr
    assert json.loads(ask.stdout)["passages"]


def test_a_user_adds_a_pdf_asks_lists_and_removes_it(tmp_path) -> None:
    """The done-when of the add issue, as a user runs it: `add` a PDF to an empty library outside
    the repository, `ask` cites a paragraph of it with its printed page, `docs` lists it, `remove`
    takes it out (real model, real commands in subprocesses)."""
    from assistant.ingest.corpus import load_corpus
    from tests.pdfmaker import Style, make_pdf

    doc = next(d for d in load_corpus(ROOT / "corpus") if d.doc_id == "xu-geng-2021")
    pdf = tmp_path / "paper.pdf"
    placed = make_pdf(doc, pdf, Style(first_folio=41))
    env = {k: v for k, v in os.environ.items() if k not in ("ASSISTANT_CORPUS", "ASSISTANT_INDEX")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # the per-user library, here a fresh one

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cli = [sys.executable, "-m", "assistant.apps.cli", *args]
        return subprocess.run(cli, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)

    added = run("add", str(pdf))
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "data" / "assistant" / "library" / "xu-geng-nd.pdf").is_file()
    asked = run("ask", "--json", "What does negative integration mean?")
    record = json.loads(asked.stdout)
    assert record["answerable"] and schema_problems(record) == []
    cited = record["citations"][0]
    assert cited["doc_id"] == "xu-geng-nd" and "负向一体化" in cited["text"]
    printed = {"".join(k.split()): v for k, v in placed.pages.items()}
    first, last = printed["".join(cited["text"].split())]
    assert (cited["page_start"], cited["page_end"]) == (first + 40, last + 40)
    shown = run("ask", "--no-server", "What does negative integration mean?")
    assert f"{cited['ref']} · p" in shown.stdout
    listed = run("docs", "--json")
    assert json.loads(listed.stdout)["doc_id"] == "xu-geng-nd"
    removed = run("remove", "xu-geng-nd")
    assert removed.returncode == 0, removed.stderr
    assert "empty" in run("docs").stdout
