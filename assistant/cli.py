"""The ``assistant`` command: models, index, ask, show, status (and the TUI with no arguments)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from assistant.abstain import AbstentionPolicy
from assistant.embedding import Embedder
from assistant.engine import Engine, QuestionError, Settings
from assistant.records import Answer

EXIT_BAD_INPUT = 2
EXIT_ENV = 1
EXIT_INTERRUPTED = 130


def _known_errors() -> tuple[type[BaseException], ...]:
    """Error types whose message is already a one-line, user-facing explanation."""
    from assistant.corpus import CorpusError
    from assistant.index import IndexStoreError
    from assistant.models import ModelError

    return (CorpusError, IndexStoreError, ModelError)


def _err(message: str) -> None:
    print(f"assistant: error: {message}", file=sys.stderr)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\rembedding {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


def cmd_models(args: argparse.Namespace) -> int:
    from assistant import models

    if args.action == "fetch":
        path = models.fetch_model(log=lambda m: print(m, file=sys.stderr))
        print(path)
    elif args.action == "verify":
        spec = models.resolve_model(args.model)
        models.verify_model(spec.path, spec.digests, full=True)
        print(f"ok: {spec.name} at {spec.path} ({len(spec.digests)} files verified)")
    else:
        print(models.resolve_model(args.model).path)
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


def _answer_lines(engine: Engine, answer: Answer) -> list[str]:
    lines = [answer.text, ""]
    heading = "引用" if answer.lang == "zh" else "Citations"
    if answer.citations:
        lines.append(f"{heading}:")
        for c in answer.citations:
            meta = engine.documents.get(c.paragraph.doc_id)
            title = meta.title if meta else c.paragraph.doc_id
            lines.append(
                f"  [{c.n}] {c.paragraph.ref}  《{title}》 {c.paragraph.section_label}  (score {c.score:.3f})"
            )
        lines.append("")
    lines.append("最接近的段落:" if answer.lang == "zh" else "Closest passages:")
    for h in answer.passages:
        snippet = h.paragraph.text.replace("\n", " ")
        snippet = snippet[:60] + ("…" if len(snippet) > 60 else "")
        lines.append(f"  {h.rank}. {h.paragraph.ref:<22} {h.score:.3f}  {snippet}")
    return lines


def format_answer(engine: Engine, answer: Answer, as_json: bool = False, explain: bool = False) -> str:
    """Exactly what ``assistant ask`` prints for an answer, trailing newline included.

    Shared by the in-process path and ``assistant serve``, so a served answer is byte-identical.
    """
    if as_json:
        from assistant.serialize import answer_record

        record = answer_record(answer, engine.documents)
        if explain:
            record["explain"] = explain_record(answer, engine.policy)
        return json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    lines = _answer_lines(engine, answer)
    if explain:
        lines += _explain_lines(answer, engine.policy)
    return "\n".join(lines) + "\n"


def cmd_ask(args: argparse.Namespace) -> int:
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, top_k=args.k)
    question = " ".join(args.question)
    from assistant.engine import clean_question

    clean_question(question)  # fail fast on bad input, before loading the model
    # A resident `assistant serve` for this index answers in a fraction of a second; without one
    # (or for a k it would treat differently: it only takes k >= 1) answer in this process.
    if not args.no_server and (args.k is None or args.k >= 1):
        from assistant.serve_client import ask_server

        served = ask_server(
            settings,
            question,
            k=args.k,
            doc=args.doc,
            as_json=args.json,
            explain=args.explain,
            fingerprint=args.embedder.fingerprint if args.embedder is not None else None,
        )
        if served is not None:
            if served.error is not None:
                _err(served.error)
                return served.exit
            sys.stdout.write(served.output)
            return 0
    engine = Engine.open(settings, embedder=args.embedder)
    answer = engine.ask(question, doc_ids=args.doc or None)
    sys.stdout.write(format_answer(engine, answer, as_json=args.json, explain=args.explain))
    return 0


def explain_record(answer: Answer, policy: AbstentionPolicy | None = None) -> dict[str, object]:
    """The retrieval trace as plain data: query terms, glossary expansions, cues, per-signal scores,
    the answer-type check (what kind of fact the question asks for, how well the top passage
    states one) and, given the policy, the abstention rule's inputs and bars."""
    from assistant.answertype import asked_kinds

    trace = answer.trace
    return {
        "lexical_tokens": list(trace.lexical_tokens) if trace else [],
        "lexical_coverage": trace.lexical_coverage if trace else None,
        "expansions": [{"en": e.en, "abbr": e.abbr, "zh": e.zh} for e in trace.expansions] if trace else [],
        "doc_hints": sorted(trace.hints.doc_ids) if trace else [],
        "kind_hints": sorted(trace.hints.kinds) if trace else [],
        "candidates": [
            {
                "rank": h.rank,
                "ref": h.paragraph.ref,
                **h.scores,
                "slice_kind": None if h.chunk is None else "sentence" if h.chunk.sentence else "window",
            }
            for h in answer.passages
        ],
        "asks_for": sorted(asked_kinds(answer.question)),
        "evidence_support": round(answer.support, 3),
        "abstention": _abstention_record(answer, policy) if policy else None,
    }


def _abstention_record(answer: Answer, policy: AbstentionPolicy) -> dict[str, object] | None:
    """The abstention rule's inputs for the top hit, next to the bars they were held against."""
    hits = answer.passages
    if not hits:
        return None
    lang = answer.lang
    return {
        "dense": round(hits[0].scores.get("dense", hits[0].score), 4),
        "bar": policy.min_dense.get(lang),
        "lead": round(hits[0].score - hits[1].score, 4) if len(hits) > 1 else None,
        "clear_margin": policy.clear_margin.get(lang),
        "margin_floor": policy.margin_floor.get(lang),
        "min_support": policy.min_support.get(lang),
        "policy": policy.source,
    }


def _explain_lines(answer: Answer, policy: AbstentionPolicy | None = None) -> list[str]:
    data = explain_record(answer, policy)
    lines = ["", "explain:", f"  lexical query: {' '.join(data['lexical_tokens']) or '-'}"]  # type: ignore[arg-type]
    if data["lexical_coverage"] is not None:
        lines[-1] += f" (the corpus covers {data['lexical_coverage']:.2f} of the question)"
    for e in data["expansions"]:  # type: ignore[union-attr]
        lines.append(f"  expanded: {e['en'] or e['abbr']} -> {e['zh']}")
    if data["doc_hints"] or data["kind_hints"]:
        lines.append(f"  cues: documents {data['doc_hints'] or '-'}, kinds {data['kind_hints'] or '-'}")
    if data["asks_for"]:
        lines.append(
            f"  asks for: {', '.join(data['asks_for'])}; "  # type: ignore[arg-type]
            f"the top passage states it with support {data['evidence_support']:.2f}"
        )
    lines.append(f"  {'rank':>4}  {'ref':<24} {'dense':>7} {'bm25':>7} {'cue':>6} {'fused':>7}   quoted from")
    for c in data["candidates"]:  # type: ignore[union-attr]
        kind = c.get("slice_kind")
        lines.append(
            f"  {c['rank']:>4}  {c['ref']:<24} {c.get('dense', 0):>7.3f} {c.get('lexical', 0):>7.2f}"
            f" {c.get('hint', 0):>6.2f} {c.get('fused', 0):>7.3f}"
            + (f"   {kind} {c.get('slice', 0):.3f}" if kind else "")
        )
    lines.append("  (dense = best window: what ranks and what the abstention bar is held against)")
    a = data["abstention"]
    if a:
        lead = "-" if a["lead"] is None else f"{a['lead']:.3f}"  # type: ignore[index]
        lines.append(
            f"  abstention ({a['policy']}): dense {a['dense']:.3f} vs bar {a['bar']};"  # type: ignore[index]
            f" lead {lead} vs margin"
            f" {a['clear_margin']} above floor {a['margin_floor']}; support gate {a['min_support']}"  # type: ignore[index]
        )
    return lines


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant import serve_client

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    try:
        if args.status:
            return serve_client.print_status(settings)
        if args.stop:
            return serve_client.stop_server(settings)
        from assistant.serve import run_foreground

        return run_foreground(settings, embedder=args.embedder, idle_timeout=args.idle_timeout)
    except serve_client.ServeError as exc:
        _err(str(exc))
        return EXIT_ENV


def cmd_glossary(args: argparse.Namespace) -> int:
    from assistant.glossary import Glossary, format_table
    from assistant.index import load_index

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
    from assistant.index import load_index

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    index = load_index(settings.resolved_index_dir)
    para = index.paragraphs.get(args.ref)
    if para is None:
        _err(f"no unit {args.ref!r}; refs look like <doc_id>:p12, <doc_id>:fn3 or <doc_id>:abstract")
        return EXIT_BAD_INPUT
    units = index.doc_paragraphs(para.doc_id)
    i = units.index(para)
    meta = index.documents.get(para.doc_id)
    print(f"{para.ref}  《{meta.title if meta else para.doc_id}》")
    print(f"section: {para.section_label or '-'}    kind: {para.kind}")
    if para.links:
        print(f"linked: {', '.join(para.links)}")
    wrap = textwrap.TextWrapper(width=78, initial_indent="    ", subsequent_indent="    ")
    for u in units[max(0, i - args.context) : i]:
        print(f"\n  {u.ref} (before)")
        print(wrap.fill(u.text))
    print(f"\n> {para.ref}")
    print(textwrap.fill(para.text, width=78, initial_indent="  ", subsequent_indent="  "))
    for u in units[i + 1 : i + 1 + args.context]:
        print(f"\n  {u.ref} (after)")
        print(wrap.fill(u.text))
    return 0


def thresholds_path(questions: Path) -> Path:
    """Where the minimums for a question file live: ``thresholds.toml`` for the main set
    (``questions.jsonl``), ``<name>.thresholds.toml`` beside any other."""
    if questions.stem == "questions":
        return questions.with_name("thresholds.toml")
    return questions.with_name(f"{questions.stem}.thresholds.toml")


def cmd_eval(args: argparse.Namespace) -> int:
    import tomllib

    from assistant import evals
    from assistant.engine import REPO_ROOT

    paths = args.questions or (
        [REPO_ROOT / "evals" / f"{name}.jsonl" for name in CALIBRATION_SETS]
        if args.calibrate
        else [REPO_ROOT / "evals" / "questions.jsonl"]
    )
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
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    engine = Engine.open(settings, embedder=args.embedder)
    results = evals.run_eval(items, lambda qs: engine.ask_many(qs, k=10))
    if args.calibrate:
        return _calibrate(engine, results, [p.name for p in paths])
    table = evals.grouped(results)
    text = evals.markdown_table(table)
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


CV_REPEATS = 10
# The sets `--calibrate` pools by default: every set written before the newest blind ones
# (holdout2 to holdout4), which stay out of it as the check on questions nobody fitted to.
CALIBRATION_SETS = ("questions", "short", "holdout")


def _calibrate(engine: Engine, results: list, sources: Sequence[str]) -> int:
    from assistant.abstain import Sample, calibrate, cross_validate, write_policy

    samples = [Sample(r.item.lang, r.item.answerable, r.top_dense, r.lead, r.support) for r in results]
    policy, report = calibrate(samples)
    counts = ", ".join(
        f"{lang}: {int(m['n'])} questions, abstention recall {m['abstention_recall']:.3f}, "
        f"false abstention {m['false_abstention']:.3f}"
        for lang, m in report.items()
    )
    cv = cross_validate(samples, repeats=CV_REPEATS)
    held_out = ", ".join(
        f"{lang}: recall {m['abstention_recall']:.3f}, false abstention {m['false_abstention']:.3f}"
        for lang, m in cv.items()
    )
    note = (
        f"chosen on {len(samples)} eval questions from {' + '.join(sources)} ({counts}); "
        f"2-fold held-out estimate pooled over {CV_REPEATS} splits: {held_out}"
    )
    write_policy(engine.index.manifest.model_name, policy, note)
    print(f"min_dense={policy.min_dense} clear_margin={policy.clear_margin}")
    print(f"margin_floor={policy.margin_floor} min_support={policy.min_support}")
    print(note)
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    from assistant.tui import run

    return run(Settings.from_env(corpus_dir=args.corpus, index_dir=args.index))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    parser = argparse.ArgumentParser(
        prog="assistant", description="Quoted, paragraph-cited answers from a local document collection."
    )
    parser.add_argument("--corpus", type=Path, help="corpus folder")
    parser.add_argument("--index", type=Path, help="index folder")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("models", help="fetch, verify or locate the embedding model")
    p.add_argument("action", choices=["fetch", "verify", "path"])
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
    p.add_argument("-k", type=int, default=None, help="how many passages to list (default 5)")
    p.add_argument("--doc", action="append", help="search only this doc_id (repeatable)")
    p.add_argument("--explain", action="store_true", help="show how retrieval scored the top candidates")
    p.add_argument(
        "--no-server", action="store_true", help="answer in this process even if `assistant serve` is running"
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

    from assistant.batch import add_parser as add_batch_parser

    add_batch_parser(sub)

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
        "--calibrate",
        action="store_true",
        help="choose the abstention bars from these questions (writes calibration.toml)",
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
        args.func = cmd_tui
    try:
        return args.func(args)
    except QuestionError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("interrupted; nothing was changed")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if isinstance(exc, _known_errors()):
            _err(str(exc))
            return EXIT_ENV
        raise


if __name__ == "__main__":
    sys.exit(main())
