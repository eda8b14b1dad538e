"""The ``assistant`` command: models, index, add, docs, remove, ask, show, glossary, batch, eval, serve, tui.

Commands import what they need when they run: ``assistant ask`` handed to a running server must
start in a fraction of a second, so the engine (numpy, faiss, jieba) loads only on the in-process
path, and Textual only for the TUI.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

# thresholds_path is re-exported: tests and scripts have imported it from here
from assistant.apps.eval_cli import cmd_eval, thresholds_path  # noqa: F401
from assistant.errors import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, AssistantError, error_line
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.index.embedder import Embedder


def _err(message: str) -> None:
    print(f"assistant: error: {message}", file=sys.stderr)


def positive_int(text: str) -> int:
    """argparse type for ``-k``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_models(args: argparse.Namespace) -> int:
    from assistant.index import models, reader_model

    settings = Settings.from_env(model=args.model)
    embedding, reader = args.which in ("all", "embedding"), args.which in ("all", "reader")
    reader_path = reader_model.reader_file(settings.cache_dir)
    if args.action == "fetch":
        log = lambda m: print(m, file=sys.stderr)  # noqa: E731
        if embedding:
            print(models.fetch_model(cache=settings.cache_dir, log=log))
            _record_probe(settings, log)
        if reader:
            print(reader_model.fetch_reader(settings.cache_dir, log=log))
    elif args.action == "verify":
        if embedding:
            if (settings.model or models.DEFAULT_MODEL) == models.DEFAULT_MODEL:
                # The deep check hashes every file whatever the verified-marker says (resolving
                # the model would stop at a missing marker without naming the damaged file).
                path = models.model_dir(models.DEFAULT_MODEL, settings.cache_dir)
                spec = models.ModelSpec(models.DEFAULT_MODEL, path, models.default_digests())
            else:
                spec = models.resolve_model(settings.model, settings.cache_dir)
            models.verify_model(spec.path, spec.digests, full=True)
            print(f"ok: {spec.name} at {spec.path} ({len(spec.digests)} files verified)")
        if reader and (args.which == "reader" or reader_path.exists()):
            reader_model.verify_reader(reader_path, full=True)
            print(f"ok: reader {reader_model.READER_NAME} at {reader_path} (sha256 verified)")
        elif reader:
            print(f"reader model not installed (optional; {reader_model.FETCH_HINT} adds it)")
    else:
        if embedding:
            print(models.resolve_model(settings.model, settings.cache_dir).path)
        if reader:
            print(reader_path)
    return 0


def _record_probe(settings: Settings, log: Callable[[str], None]) -> None:
    """Record the verified default model's probe vector once, so every later load can compare."""
    from assistant.engine import default_embedder

    default = replace(settings, model=None)
    if default.probe_path.exists():
        return
    log("recording the model's self-check vector ...")
    default_embedder(default).record_probe()


def cmd_index(args: argparse.Namespace) -> int:
    from assistant.engine import build

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, index_type=args.index_type)
    if args.verify:
        from assistant.index.store import verify_index

        files, vectors = verify_index(settings.resolved_index_dir)
        where = settings.resolved_index_dir
        print(f"ok: {where}: {files} files match their digests, {vectors} vectors sound")
        return 0
    from assistant.apps.progress import numbered, track

    # a bar on a terminal, a line every ~10 s in a log (the set-up's first build takes minutes)
    with track("embedding", "chunks") as steps:
        on_file = numbered(steps, settings.corpus_dir)
        report = build(settings, args.embedder, steps.count, rebuild=args.rebuild, on_file=on_file)
    print(
        f"indexed {report.n_documents} documents, {report.n_paragraphs} units, {report.n_chunks} chunks "
        f"({report.embedded} embedded, {report.n_chunks - report.embedded} from cache) "
        f"in {report.seconds:.1f}s -> {report.path}"
    )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, top_k=args.k)
    question = " ".join(args.question)
    from assistant.engine import clean_question

    clean_question(question)  # fail fast on bad input, before loading the model
    if args.no_server:
        return _ask_in_process(args, settings, question)
    # A resident `assistant serve` for this index answers in a fraction of a second; without one
    # answer in this process, one such process at a time (each loads its own model).
    from assistant.apps.serve.client import in_process_slot

    served = _ask_served(args, settings, question)
    if served is not None:
        return served
    with in_process_slot(settings) as waited:
        served = _ask_served(args, settings, question) if waited else None  # up by now?
        if served is None and args.embedder is None:
            served = _ask_started_server(args, settings, question)
        return served if served is not None else _ask_in_process(args, settings, question)


def _ask_started_server(args: argparse.Namespace, settings: Settings, question: str) -> int | None:
    """Start the background engine (when wanted) and ask it; None to answer in-process instead."""
    from assistant.apps.serve import autostart

    if not autostart.wanted(settings, sys.stderr.isatty()):
        return None
    from assistant.apps.progress import spinner

    with spinner("starting the engine (once)") as say:
        pid = autostart.start_server(settings, on_wait=lambda s: say(f"starting the engine (once), {s:.0f}s"))
    if pid is None:
        return None
    if autostart.first_time(settings):
        print(f"assistant: note: {autostart.note(pid, settings)}", file=sys.stderr)
    return _ask_served(args, settings, question)


def _ask_served(args: argparse.Namespace, settings: Settings, question: str) -> int | None:
    """Hand the question to a running server and print its answer; None when none answered."""
    from assistant.apps.serve.client import ask_server

    served = ask_server(
        settings,
        question,
        k=args.k,
        doc=args.doc,
        as_json=args.json,
        explain=args.explain,
        reader=not args.no_reader,
        fingerprint=args.embedder.fingerprint if args.embedder is not None else None,
    )
    if served is None:
        return None
    if served.error is not None:
        _err(served.error)
        return served.exit
    _print_output(served.output, args.json)
    _reader_notes("", served.notice)
    return 0


def _ask_in_process(args: argparse.Namespace, settings: Settings, question: str) -> int:
    from assistant.apps.present import format_answer
    from assistant.apps.progress import spinner

    # A cold start takes 20 s on a busy machine: a terminal sees a spinner, erased before the answer.
    with spinner("loading the model and the index") as say:
        from assistant.engine import Engine

        engine = Engine.open(settings, embedder=args.embedder, reader=None if args.no_reader else "default")
        engine.load()
        say("answering")
        answer = engine.ask(question, doc_ids=args.doc or None)
    _print_output(format_answer(engine, answer, as_json=args.json, explain=args.explain), args.json)
    _reader_notes(engine.reader_hint, answer.reader.notice if answer.reader else "")
    return 0


def _print_output(text: str, as_json: bool = False) -> None:
    """Print a command's text wrapped to this terminal (JSON never is).

    Wrapping happens here, in the process that prints, so an answer from `assistant serve`
    (which cannot know this terminal) and one made in-process print the same.
    """
    from assistant.apps.wrap import fit

    sys.stdout.write(text if as_json else fit(text))


def _reader_notes(hint: str, notice: str) -> None:
    """The reader's one-line notice (it failed; the extractive answer stands) and, on a terminal,
    the hint on how to add a reader when there is none."""
    if notice:
        print(f"assistant: note: {notice}", file=sys.stderr)
    if hint and sys.stderr.isatty():
        print(f"assistant: note: {hint}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.apps.serve import client as serve_client

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    if args.status:
        return serve_client.print_status(settings)
    if args.stop:
        return serve_client.stop_server(settings)
    from assistant.apps.serve.server import run_foreground

    return run_foreground(settings, embedder=args.embedder, idle_timeout=args.idle_timeout)


def cmd_glossary(args: argparse.Namespace) -> int:
    from assistant.index.store import load_index
    from assistant.ingest.glossary import Glossary, glossary_notes

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    glossary = load_index(settings.resolved_index_dir).glossary
    if args.grep:
        needle = args.grep.casefold()
        glossary = Glossary(
            tuple(e for e in glossary.entries if needle in f"{e.zh} {e.en} {e.abbr}".casefold())
        )
    from assistant.apps.present import glossary_text
    from assistant.apps.wrap import output_width

    print(glossary_text(glossary, output_width()))
    # the legend under the table: "(user)", terms with two Chinese names, abbreviations without English
    notes = glossary_notes(glossary)
    if notes:
        _print_output("\n".join(notes) + "\n")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from assistant.index.store import load_index

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    index = load_index(settings.resolved_index_dir)
    para = index.paragraphs.get(args.ref)
    if para is None:
        _err(f"no unit {args.ref!r}; refs look like <doc_id>:p12, <doc_id>:fn3 or <doc_id>:abstract")
        return EXIT_BAD_INPUT
    from assistant.apps.present import show_lines

    _print_output("\n".join(show_lines(index, para, args.context)) + "\n")
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    from assistant.apps.tui.app import run

    return run(Settings.from_env(corpus_dir=args.corpus, index_dir=args.index))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    from assistant.answer.evals import CALIBRATION_SETS

    parser = argparse.ArgumentParser(
        prog="assistant", description="Quoted, paragraph-cited answers from a local document collection."
    )
    parser.add_argument(
        "--library",
        "--corpus",
        dest="corpus",
        type=Path,
        help="library folder (default: $ASSISTANT_CORPUS; the bundled corpus/ inside this repository, "
        "else a per-user data folder)",
    )
    parser.add_argument("--index", type=Path, help="index folder")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("models", help="fetch, verify or locate the embedding and reader models")
    p.add_argument("action", choices=["fetch", "verify", "path"])
    p.add_argument(
        "--which",
        choices=["all", "embedding", "reader"],
        default="all",
        help="which model (default: both the embedding model and the reader model)",
    )
    p.add_argument("--model", help="model name or local folder (default: $ASSISTANT_MODEL or EmbeddingGemma)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("index", help="clean the corpus and build the index")
    p.add_argument(
        "--rebuild", action="store_true", help="re-embed every chunk instead of reusing cached vectors"
    )
    p.add_argument(
        "--index-type",
        choices=["auto", "flat", "hnsw"],
        help="vector index: flat, hnsw, or auto (default; flat below ~200k chunks, then HNSW)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="check the live index (every file against its digest, every vector finite and of unit "
        "length) without building; exit 1 if it is damaged",
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question with quoted, cited evidence")
    p.add_argument("question", nargs="+")
    p.add_argument("--json", action="store_true", help="print the answer record as JSON")
    p.add_argument(
        "-k",
        type=positive_int,
        default=None,
        help="how many passages to list (default 5; never changes the answer)",
    )
    p.add_argument("--doc", action="append", help="search only this doc_id (repeatable)")
    p.add_argument("--explain", action="store_true", help="show how retrieval scored the top candidates")
    p.add_argument(
        "--no-server", action="store_true", help="answer in this process even if `assistant serve` is running"
    )
    p.add_argument(
        "--no-reader", action="store_true", help="extractive answer only: no judge, selection or rendering"
    )
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="keep the model and index loaded so later `ask` calls answer fast")
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="exit after this many seconds without questions (default 0: never)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--stop", action="store_true", help="ask the running server for this index to exit")
    g.add_argument("--status", action="store_true", help="report whether a server runs for this index")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("glossary", help="list the bilingual term pairs with their source refs")
    p.add_argument("--grep", help="only entries containing this text (either language)")
    p.set_defaults(func=cmd_glossary)

    from assistant.apps.batch import add_parser as add_batch_parser
    from assistant.apps.library_cli import add_parsers as add_library_parsers

    add_batch_parser(sub)
    add_library_parsers(sub)

    p = sub.add_parser("show", help="print a unit with its section path and neighbours")
    p.add_argument("ref", help="e.g. xu-geng-2021:p42")
    p.add_argument("--context", type=int, default=1, help="neighbours to show on each side")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("eval", help="run the evaluation question set and report metrics")
    p.add_argument(
        "--questions",
        type=Path,
        action="append",
        help="a question file (default: evals/questions.jsonl; with --calibrate: "
        + ", ".join(f"evals/{n}.jsonl" for n in CALIBRATION_SETS)
        + "); repeat it with --calibrate to pool several",
    )
    p.add_argument("--subset", help="only items with this tag (e.g. dev20, definition)")
    p.add_argument(
        "--report",
        type=Path,
        metavar="PATH",
        help="also write a Markdown report: the summary, every metric per language and per document, "
        "a legend, and every failed question with its expected evidence and what was cited",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a metric is on the wrong side of its threshold (evals/thresholds.toml, or "
        "<name>.thresholds.toml beside another set; the summary marks each pass or FAIL whenever "
        "that file exists)",
    )
    p.add_argument("--failures", action="store_true", help="list the questions that missed")
    p.add_argument(
        "--reader",
        action="store_true",
        help="also answer with the reader and show both modes side by side (slow: seconds a question); "
        "with --calibrate, fit the reader's judge bar on top of the current bars",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="choose the abstention bars from these questions (writes calibration.toml beside the index)",
    )
    p.add_argument(
        "--calibration-out",
        type=Path,
        help="with --calibrate: write the bars here instead (e.g. assistant/answer/calibration.toml "
        "to change the calibration shipped with the package)",
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("tui", help="open the terminal UI (the default with no command)")
    p.set_defaults(func=cmd_tui)
    return parser


def main(argv: Sequence[str] | None = None, embedder: Embedder | None = None) -> int:
    """Entry point: one-line errors and exit codes, never a traceback for known failures.

    ``embedder`` replaces the configured model (tests pass a deterministic fake).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.embedder = embedder
    if args.command is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            parser.print_usage(sys.stderr)
            _err('the terminal UI needs a terminal; give a command such as `assistant ask "..."`')
            return EXIT_BAD_INPUT
        args.func = cmd_tui
    try:
        return args.func(args)
    except AssistantError as exc:
        print(error_line(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted; nothing was changed")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of our output went away (`| head`): end quietly, as git and ripgrep do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
