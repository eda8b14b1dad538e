"""The ``assistant`` command: models, index, add, docs, remove, ask, show, glossary, batch, eval, serve, tui.

Commands import what they need when they run: ``assistant ask`` handed to a running server must
start in a fraction of a second, so the engine (numpy, faiss, jieba) loads only on the in-process
path, and Textual only for the TUI.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\rembedding {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


def cmd_models(args: argparse.Namespace) -> int:
    from assistant.index import models, reader_model

    settings = Settings.from_env(model=args.model)
    embedding, reader = args.which in ("all", "embedding"), args.which in ("all", "reader")
    reader_path = reader_model.reader_file(settings.cache_dir)
    if args.action == "fetch":
        log = lambda m: print(m, file=sys.stderr)  # noqa: E731
        if embedding:
            print(models.fetch_model(cache=settings.cache_dir, log=log))
        if reader:
            print(reader_model.fetch_reader(settings.cache_dir, log=log))
    elif args.action == "verify":
        if embedding:
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


def cmd_index(args: argparse.Namespace) -> int:
    from assistant.engine import build

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, index_type=args.index_type)
    report = build(settings, embedder=args.embedder, progress=_progress, rebuild=args.rebuild)
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
    # A resident `assistant serve` for this index answers in a fraction of a second; without one
    # answer in this process.
    if not args.no_server:
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
        if served is not None:
            if served.error is not None:
                _err(served.error)
                return served.exit
            sys.stdout.write(served.output)
            _reader_notes("", served.notice)
            return 0
    from assistant.apps.present import format_answer
    from assistant.engine import Engine

    engine = Engine.open(settings, embedder=args.embedder, reader=None if args.no_reader else "default")
    answer = engine.ask(question, doc_ids=args.doc or None)
    sys.stdout.write(format_answer(engine, answer, as_json=args.json, explain=args.explain))
    _reader_notes(engine.reader_hint, answer.reader.notice if answer.reader else "")
    return 0


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
    from assistant.ingest.glossary import Glossary, format_table

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    glossary = load_index(settings.resolved_index_dir).glossary
    if args.grep:
        needle = args.grep.casefold()
        glossary = Glossary(
            tuple(e for e in glossary.entries if needle in f"{e.zh} {e.en} {e.abbr}".casefold())
        )
    print(format_table(glossary))
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

    print("\n".join(show_lines(index, para, args.context)))
    return 0


def thresholds_path(questions: Path) -> Path:
    """Where the minimums for a question file live: ``thresholds.toml`` for the main set
    (``questions.jsonl``), ``<name>.thresholds.toml`` beside any other."""
    if questions.stem == "questions":
        return questions.with_name("thresholds.toml")
    return questions.with_name(f"{questions.stem}.thresholds.toml")


def cmd_eval(args: argparse.Namespace) -> int:
    import tomllib

    from assistant.answer import evals
    from assistant.answer.calibrate import calibrate_from, calibrate_judge
    from assistant.answer.evals import CALIBRATION_SETS
    from assistant.answer.reading import reader_id
    from assistant.engine import Engine

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    paths = args.questions
    if not paths:
        if settings.evals_dir is None:
            _err("no question set here (this is not a source checkout): give one with --questions FILE")
            return EXIT_BAD_INPUT
        names = CALIBRATION_SETS if args.calibrate else ("questions",)
        paths = [settings.evals_dir / f"{name}.jsonl" for name in names]
    if len(paths) > 1 and not args.calibrate:
        _err("give one --questions file (several only with --calibrate, which pools them)")
        return EXIT_BAD_INPUT
    path = paths[0]
    items = [item for p in paths for item in evals.load_items(p)]
    if args.subset:
        items = [i for i in items if args.subset in i.tags]
    if not items:
        _err(
            f"no questions in {', '.join(str(p) for p in paths)}"
            + (f" tagged {args.subset!r}" if args.subset else "")
        )
        return EXIT_BAD_INPUT
    engine = Engine.open(settings, embedder=args.embedder, reader="default" if args.reader else None)
    if args.reader and engine.reader is None:
        _err(f"--reader: no reader is available ({engine.reader_hint or 'ASSISTANT_READER=none'})")
        return EXIT_BAD_INPUT
    results = evals.run_eval(items, lambda qs: engine.ask_many(qs, k=10, use_reader=False))
    read = evals.run_eval(items, lambda qs: engine.ask_many(qs, k=10)) if args.reader else None
    if args.calibrate:
        target = args.calibration_out or settings.calibration_path
        sources = [p.name for p in paths]
        model = engine.index.manifest.model_name
        if read is not None and engine.reader is not None:
            policy, note = calibrate_judge(
                read, engine.policy, reader_id(engine.reader), model, sources, target
            )
        else:
            policy, note = calibrate_from(results, model, sources, target)
        print(f"min_dense={policy.min_dense} clear_margin={policy.clear_margin}")
        print(f"margin_floor={policy.margin_floor} min_support={policy.min_support}")
        if policy.min_judge:
            print(f"min_judge={policy.min_judge} for {policy.judge_reader}")
        print(note)
        print(f"wrote {target}")
        return 0
    table = evals.grouped(results)
    text = evals.markdown_table(table)
    if read is not None:
        assert engine.reader is not None
        text = (
            f"Without the reader (extractive; what --check gates):\n\n{text}\n\n"
            f"With the reader ({reader_id(engine.reader)}):\n\n{evals.markdown_table(evals.grouped(read))}"
        )
    print(text)
    misses = evals.failures(results)
    if args.failures:
        for miss in misses:
            print(f"  miss {miss['id']}: rank={miss['rank']} answered={miss['answered']}  {miss['question']}")
    if args.report:
        args.report.write_text(
            f"# Evaluation report\n\nQuestions: `{path.name}`"
            + (f" (subset `{args.subset}`)" if args.subset else "")
            + f", model `{engine.index.manifest.model_name}`, {len(items)} questions.\n\n{text}\n",
            encoding="utf-8",
        )
    if args.check:
        limits_path = thresholds_path(path)
        if not limits_path.is_file():
            _err(f"no thresholds for {path.name}: expected {limits_path}")
            return EXIT_BAD_INPUT
        limits = tomllib.loads(limits_path.read_text(encoding="utf-8"))
        problems = evals.check_thresholds(table, limits)
        for problem in problems:
            _err(f"below threshold: {problem}")
        return 1 if problems else 0
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
    p.add_argument("--report", type=Path, help="write a Markdown report here")
    p.add_argument("--check", action="store_true", help="fail when a metric is below evals/thresholds.toml")
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
