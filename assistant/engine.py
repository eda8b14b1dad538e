"""The engine facade: the one API the CLI, the TUI, batch mode and the evals call.

``Engine.open(settings)`` loads a checked index; ``engine.ask(question)``
returns an :class:`Answer`; ``build(settings)`` (re)builds the index.
Parts (embedder, index) are injected through the constructor so tests pass fakes.
"""

from __future__ import annotations

import importlib.util
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from assistant.answer.abstain import PACKAGED_CALIBRATION, AbstentionPolicy, load_policy
from assistant.answer.compose import answer_text, compose
from assistant.answer.evidence import gather
from assistant.answer.reader.base import Reader
from assistant.answer.reader.local import LlamaReader
from assistant.answer.reader.prompts import PROMPT_VERSION
from assistant.answer.reading import judge, reader_id, render
from assistant.errors import CorpusError, IndexStoreError, QuestionError, UsageError
from assistant.index.doccache import document_loader
from assistant.index.embedcache import EmbeddingCache
from assistant.index.embedder import Embedder, SentenceTransformerEmbedder
from assistant.index.manifest import LoadedIndex, corpus_hash
from assistant.index.models import resolve_model
from assistant.index.reader_model import is_reader_verified, reader_file
from assistant.index.store import BuildReport, build_index, load_index
from assistant.index.vectorstore import INDEX_KINDS
from assistant.ingest.corpus import ADD_HINT, load_corpus, require_corpus_dir, source_files
from assistant.ingest.glossary import Glossary
from assistant.records import Answer, DocumentMeta, Lang, Paragraph, ReaderNote
from assistant.search.retrieval import FusionWeights, HybridRetriever
from assistant.settings import Settings
from assistant.text import detect_lang, latin_language

MAX_QUESTION_CHARS = 1000
# Units ranked for every question, whatever -k is: the verdict reads the top two and the citations
# come from the top three, so listing 1 or 10 passages never changes the answer.
CANDIDATES = 10
# Quote the reader's choice of sentences instead of the lexical one? Measured on the fit sets
# (bench/reader-report.md): the first quote held the evidence less often with it (holdout zh 0.909
# -> 0.773, questions zh 0.889 -> 0.852), so the choice is recorded (`reader.selected`), not quoted.
QUOTE_FROM_SELECTION = False

__all__ = ["Engine", "QuestionError", "Settings", "build", "clean_question", "default_embedder"]


def default_reader(settings: Settings) -> tuple[Reader | None, str]:
    """The configured reader, or None and a one-line hint on how to enable one.

    ``reader_url`` selects a server; otherwise ``auto`` uses the local model when its verified file
    and llama-cpp-python are both installed. Nothing is loaded here: the model loads on first use.
    """
    if settings.reader == "none":
        return None, ""
    if settings.reader_url:
        from assistant.answer.reader.remote import OpenAIReader

        return OpenAIReader(settings.reader_url, settings.reader_model, settings.reader_key), ""
    path = reader_file(settings.cache_dir)
    if not is_reader_verified(path):
        return None, "answers are extractive only: run `assistant models fetch` to add the reader model"
    if importlib.util.find_spec("llama_cpp") is None:
        return (
            None,
            "answers are extractive only: run `bash scripts/setup.sh --install` to add llama-cpp-python",
        )
    return LlamaReader(path, threads=settings.threads), ""


def default_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The configured sentence-transformers model, resolved to a verified local folder."""
    spec = resolve_model(settings.model, settings.cache_dir)
    return SentenceTransformerEmbedder(
        spec.name, spec.path, spec.digests, threads=settings.threads, probe_file=settings.probe_path
    )


def clean_question(question: str) -> tuple[str, Lang]:
    """Normalise a question and detect its language, or raise QuestionError."""
    if "\x00" in question or any("\ud800" <= ch <= "\udfff" for ch in question):
        # NUL or undecodable bytes (argv decodes them as lone surrogates): not text at all.
        raise QuestionError("the question contains binary data or bytes that are not UTF-8")
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in question)
    text = " ".join(text.split())
    if not text:
        raise QuestionError("empty question: type a question in Chinese or English")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"question too long ({len(text)} characters; the limit is {MAX_QUESTION_CHARS})")
    lang = detect_lang(text)
    if lang is None:
        raise QuestionError("cannot tell the question's language: please ask in Chinese or English")
    # Latin script is not English: a French question would get English-ranked quotes and an
    # English rendering nobody asked for, so it is refused like any other language.
    other = latin_language(text) if lang == "en" else None
    if other is not None:
        raise QuestionError(f"the question looks {other}; please ask in Chinese or English")
    return text, lang


def build(
    settings: Settings,
    embedder: Embedder | None = None,
    progress: Callable[[int, int], None] | None = None,
    rebuild: bool = False,
    on_file: Callable[[Path], None] | None = None,
) -> BuildReport:
    """Clean the corpus and (re)build the index, re-embedding only texts not seen before.

    ``rebuild`` ignores the embedding cache and embeds every chunk again; ``on_file`` is told each
    source file before it is read.
    """
    if settings.index_type not in INDEX_KINDS:
        raise IndexStoreError(
            f"unknown index type {settings.index_type!r} (ASSISTANT_INDEX_TYPE or --index-type); "
            f"choose one of {', '.join(INDEX_KINDS)}"
        )
    documents = load_corpus(
        settings.corpus_dir, on_file, document_loader(settings.cache_dir if embedder is None else None)
    )
    glossary = Glossary.load(
        [p for d in documents for p in d.paragraphs], settings.corpus_dir / "glossary.tsv"
    )
    emb = embedder or default_embedder(settings)
    digests = emb.digests if isinstance(emb, SentenceTransformerEmbedder) else {}
    cache = EmbeddingCache(settings.embedding_cache_path) if embedder is None else None
    try:
        return build_index(
            documents,
            emb,
            settings.resolved_index_dir,
            corpus_hash(settings.corpus_dir),
            cache=cache,
            reuse_cache=not rebuild,
            model_digests=digests,
            progress=progress,
            glossary=glossary,
            index_type=settings.index_type,
        )
    finally:
        if cache:
            cache.close()


class Engine:
    """Answers questions from a loaded index."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        index: LoadedIndex,
        weights: FusionWeights | None = None,
        lexical: bool = True,
        policy: AbstentionPolicy | None = None,
        reader: Reader | None = None,
        reader_hint: str = "",
    ) -> None:
        self.settings = settings
        self.reader = reader
        self.reader_hint = reader_hint
        """Why there is no reader, and how to add one ("" when there is one or none was wanted)."""
        self.embedder = embedder
        self.index = index
        self.policy = policy or load_policy(
            index.manifest.model_name, settings.calibration_path, PACKAGED_CALIBRATION
        )
        self.retriever = HybridRetriever(index, embedder, index.glossary, weights, lexical=lexical)
        # (zh, en) glossary pairs that keep a rendering's terminology consistent
        self._term_pairs = tuple((e.zh, e.en) for e in index.glossary.entries if e.en)
        # Milliseconds the embedding model took to load, until an answer has reported them; None
        # before the load and once reported (see `load`).
        self._load_ms: float | None = None
        self._loaded = False
        self.clock: Callable[[], float] = time.perf_counter
        """Where timings are read from (tests put a fake clock here)."""

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        reader: Reader | str | None = "default",
    ) -> Engine:
        """Load the index, refusing one built by another model or from an older corpus.

        ``reader`` replaces the configured one (``None``: extractive answers only).
        """
        settings = settings or Settings.from_env()
        require_corpus_dir(settings.corpus_dir)  # named first: a missing corpus explains a missing index
        if not source_files(settings.corpus_dir):
            raise CorpusError(f"{settings.corpus_dir}: the library has no documents; {ADD_HINT}")
        emb = embedder or default_embedder(settings)
        index = load_index(settings.resolved_index_dir, emb.fingerprint, corpus_hash(settings.corpus_dir))
        chosen, hint = default_reader(settings) if isinstance(reader, str) else (reader, "")
        return cls(settings, emb, index, reader=chosen, reader_hint=hint)

    def load(self) -> None:
        """Load the embedding model now instead of inside the first question's ``embed`` time.

        The next answer reports how long it took as ``timings_ms.load``, apart from its own work;
        an embedder loaded already (shared with an earlier engine) has nothing to report.
        """
        if self._loaded:
            return
        self._loaded = True
        if getattr(self.embedder, "loaded", False):
            return
        started = self.clock()
        # SentenceTransformerEmbedder loads its model on first access; other embedders have none
        getattr(self.embedder, "model", None)
        self._load_ms = (self.clock() - started) * 1000

    @property
    def documents(self) -> dict[str, DocumentMeta]:
        return self.index.documents

    def ask(
        self,
        question: str,
        k: int | None = None,
        doc_ids: Sequence[str] | None = None,
        use_reader: bool = True,
    ) -> Answer:
        """Answer one question (raises QuestionError for unusable input)."""
        return self.ask_many([question], k, doc_ids, use_reader)[0]

    def ask_many(
        self,
        questions: Sequence[str],
        k: int | None = None,
        doc_ids: Sequence[str] | None = None,
        use_reader: bool = True,
    ) -> list[Answer]:
        """Answer several questions with one batched embedding call (and the reader, if any and
        ``use_reader``, on each question's best candidate)."""
        reader = self.reader if use_reader else None
        cleaned = [clean_question(q) for q in questions]
        k = k or self.settings.top_k
        filt = self.known_documents(doc_ids) if doc_ids else None
        self.load()  # a model loading inside `embed` would make one question look 20 s slow
        load_ms, self._load_ms = self._load_ms, None
        t0 = self.clock()
        vectors = self.retriever.embed([q for q, _ in cleaned])
        embed_ms = (self.clock() - t0) * 1000 / max(1, len(cleaned))
        answers = []
        for (text, lang), vector in zip(cleaned, vectors, strict=True):
            t1 = self.clock()
            retrieval = self.retriever.search(text, lang, vector, max(k, CANDIDATES), filt)
            candidates = retrieval.hits
            t2 = self.clock()
            terms = [e.zh for e in retrieval.expansions]
            evidence = gather(candidates, text, terms)
            # The judge can only stop an answer, so a question the rule already declines is not read.
            ruled = self.policy.decide(lang, evidence.top_dense, evidence.lead, evidence.support)
            reading, note = judge(reader, text, candidates) if reader and ruled else (None, None)
            if reader and not ruled:
                note = ReaderNote(reader.name, PROMPT_VERSION)  # present, but nothing to read
            if reading is not None:
                evidence = replace(evidence, judge=round(reading.answers, 4))
            verdict = ruled and self.policy.passes_judge(
                lang, evidence.judge, reader_id(reader) if reader and reading else ""
            )
            selection = reading.sentences if reading and QUOTE_FROM_SELECTION else ()
            answer = compose(text, lang, candidates, self.index.documents, verdict, terms, selection)
            if reader and note:
                extractive = answer
                answer, note = render(reader, answer, self._term_pairs, note)
                if answer is not extractive:  # a rendering goes under its quote in the text too
                    answer = replace(answer, text=answer_text(lang, answer.citations, self.documents))
                answer = replace(answer, reader=note)
            t3 = self.clock()
            reader_ms = answer.reader.timings_ms if answer.reader else {}
            timings = {
                "embed": embed_ms,
                "search": (t2 - t1) * 1000,
                # the reader's jobs are reported on their own, not inside compose
                "compose": (t3 - t2) * 1000 - sum(reader_ms.values()),
                **{f"reader_{job}": ms for job, ms in reader_ms.items()},
            }
            timings["total"] = sum(timings.values())
            if load_ms is not None:
                # Apart from "total", which stays this question's own work: a one-off cost of the
                # process is not a property of the question (eval's latencies would carry it).
                timings["load"] = load_ms
                load_ms = None
            answers.append(
                replace(
                    answer,
                    passages=candidates[:k],
                    timings_ms=timings,
                    trace=retrieval,
                    evidence=evidence,
                )
            )
        return answers

    def known_documents(self, doc_ids: Sequence[str]) -> frozenset[str]:
        """The doc_ids of a ``--doc`` filter, matched without regard to case; UsageError naming the
        known documents for one that is not in the index."""
        by_folded = {d.casefold(): d for d in self.documents}
        unknown = [d for d in doc_ids if d.casefold() not in by_folded]
        if unknown:
            raise UsageError(f"unknown document {unknown[0]!r} (known: {', '.join(sorted(self.documents))})")
        return frozenset(by_folded[d.casefold()] for d in doc_ids)

    def neighbours(
        self, ref: str, before: int = 1, after: int = 1
    ) -> tuple[list[Paragraph], list[Paragraph]]:
        """Units just before and after ``ref`` in its document's reading order."""
        return self.index.neighbours(ref, before, after)
