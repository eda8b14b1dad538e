"""Cheap model options (issue #6): int8 dynamic quantisation, Matryoshka truncation, threads, batch size.

Each option is a small wrapper around the shipped ``SentenceTransformerEmbedder`` (same model files,
same ``query`` / titled ``document`` prompts) measured in its own child process, so model load time and
peak RSS are per option: load the model (and apply the option), build a full index of the corpus into a
temporary folder with that embedder (an injected embedder bypasses the shared embedding cache), run the
evaluation set through the shipped hybrid engine (``evals.run_eval``, k = 10) and through dense
retrieval alone, and time single-query encodes. One more child interleaves the encoder configurations
call by call (with an A/A control) so that the speed ratios do not depend on what else the machine was
doing at the time. The parent compares every option with the baseline of the same run: quality deltas,
speed ratios, vector fidelity, and writes a keep / don't-keep verdict per option.

Nothing outside bench/ and a temporary folder is written: not the default index, not the embedding
cache, not the model cache.

Usage: python bench/model_options.py [--quick] [--options KEY,...] [--out bench/model-options-report]
  --quick      skip the batch-size variants and the 512-d truncation
  --options    run only these option keys (the baseline always runs)
  --render F   only re-render the Markdown report from a saved JSON report
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.index.embedder import SentenceTransformerEmbedder, digest_fingerprint, normalise_rows  # noqa: E402
from assistant.index.models import ModelSpec  # noqa: E402

QUESTIONS = ROOT / "evals" / "questions.jsonl"
N_LATENCY = 50
LATENCY_PASSES = 3  # paired run: passes over the latency questions
DOC_ROUNDS = 2  # paired run: passage-encoding rounds per configuration
WARMUP = 2
K = 10
LANGS = ("zh", "en")
MRR_TOLERANCE = 0.005
NOISE_FLOOR = 0.05
CHILD_TIMEOUT_S = 900
EMBED_GROUP = (
    64  # assistant.index.embedcache.embed_with_cache hands the embedder at most this many chunks per call
)


# ---------------------------------------------------------------- options and the wrapper embedder


@dataclass(frozen=True)
class Option:
    """One configuration of the shipped embedder."""

    key: str
    label: str
    kind: str
    """``baseline``, ``quality`` (changes the vectors) or ``speed`` (vectors unchanged up to float noise)."""
    int8: bool = False
    dim: int | None = None
    threads: int | None = None
    batch_size: int = 16

    @property
    def tag(self) -> str:
        """What distinguishes this option's vectors and run settings (goes into the fingerprint)."""
        return (
            f"int8={int(self.int8)};dim={self.dim or 'full'};threads={self.threads or 'default'};"
            f"batch={self.batch_size}"
        )

    @property
    def baseline_equivalent(self) -> bool:
        """Same encoder work as the baseline (fp32, default threads, batch 16); MRL only slices the output."""
        return not self.int8 and self.threads is None and self.batch_size == 16


OPTIONS: tuple[Option, ...] = (
    Option("baseline", "baseline: fp32, 768-d, batch 16, default threads (2)", "baseline"),
    Option("int8", "int8 dynamic quantisation of nn.Linear", "quality", int8=True),
    Option("mrl256", "Matryoshka 256-d", "quality", dim=256),
    Option("threads1", "torch threads = 1", "speed", threads=1),
    Option("mrl128", "Matryoshka 128-d", "quality", dim=128),
    Option("batch8", "encode batch size 8", "speed", batch_size=8),
    Option("int8_mrl256", "int8 + Matryoshka 256-d", "quality", int8=True, dim=256),
    Option("batch32", "encode batch size 32", "speed", batch_size=32),
    Option("mrl512", "Matryoshka 512-d", "quality", dim=512),
    Option("batch64", "encode batch size 64", "speed", batch_size=64),
)
QUICK_SKIP = {"batch8", "batch32", "batch64", "mrl512"}
BY_KEY = {o.key: o for o in OPTIONS}


class OptionEmbedder(SentenceTransformerEmbedder):
    """The shipped embedder with one option applied after the model loads.

    Prompts and model files are the parent's (``_encode`` / ``encode_documents`` are inherited);
    this class only quantises the loaded model, sets torch threads, changes the encode batch size,
    and truncates + re-normalises the output vectors for Matryoshka dimensions.
    """

    def __init__(self, spec: ModelSpec, option: Option) -> None:
        super().__init__(spec.name, spec.path, spec.digests, batch_size=option.batch_size)
        self.option = option
        self._prepared = False
        self.load_s = 0.0
        self.quantise_s = 0.0
        self.quantise_warnings: list[str] = []
        self.captured: list[np.ndarray] | None = None
        self.document_seconds = 0.0

    @property
    def fingerprint(self) -> str:
        return digest_fingerprint(self.name, self.digests, "prompts:query/document;titled;" + self.option.tag)

    @property
    def dim(self) -> int:
        return self.option.dim or int(self.model.get_sentence_embedding_dimension())

    @property
    def model(self) -> Any:
        """The loaded model with the option applied (quantisation, threads) on first access."""
        if self._prepared:
            return self._model
        t0 = time.perf_counter()
        model = super().model
        self.load_s = time.perf_counter() - t0
        import torch

        if self.option.int8:
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                from torch.ao.quantization import quantize_dynamic

                quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
            self.quantise_s = time.perf_counter() - t0
            seen = {
                f"{w.category.__name__}: {str(w.message).strip().splitlines()[0].strip()}" for w in caught
            }
            self.quantise_warnings = sorted(seen)
            gc.collect()
        if self.option.threads:
            torch.set_num_threads(self.option.threads)
        self._prepared = True
        return model

    def share_model(self, other: OptionEmbedder) -> None:
        """Use ``other``'s loaded (and prepared) model, for a second batch size in the same process."""
        self._model = other.model
        self._prepared = True

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        vectors = super()._encode(texts, prompt_name)
        if self.option.dim and vectors.shape[1] > self.option.dim:
            vectors = normalise_rows(vectors[:, : self.option.dim])
        return vectors

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> np.ndarray:
        """The parent's titled passage vectors, timed and (while ``captured`` is set) kept for comparison."""
        t0 = time.perf_counter()
        vectors = super().encode_documents(texts, titles)
        self.document_seconds += time.perf_counter() - t0
        if self.captured is not None:
            self.captured.append(vectors)
        return vectors


# ---------------------------------------------------------------- the child: one option, one process


def proc_status() -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of this process in MiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def pct(values: Sequence[float], q: float) -> float:
    """Percentile with linear interpolation (numpy's default)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def retrieval_metrics(results: Sequence[Any]) -> dict[str, dict[str, float]]:
    """rank1 / top5 / mrr10 (answerable questions) per language and overall (evals.metrics)."""
    from assistant.answer import evals

    out = {}
    for lang in (*LANGS, "all"):
        group = [r for r in results if r.item.answerable and lang in ("all", r.item.lang)]
        m = evals.metrics(group)
        out[lang] = {k: m[k] for k in ("n_answerable", "rank1", "top5", "mrr10")}
    return out


def weight_stats(model: Any) -> dict[str, float]:
    """Parameter counts by module type and the size of the serialised state dict (MiB)."""
    import torch

    emb = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters())
    lin = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters())
    quantised = sum(
        1 for m in model.modules() if type(m).__name__ == "Linear" and "quantized" in type(m).__module__
    )
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return {
        "embedding_params": float(emb),
        "fp32_linear_params": float(lin),
        "quantised_linear_modules": float(quantised),
        "fp32_linear_modules": float(sum(1 for m in model.modules() if isinstance(m, torch.nn.Linear))),
        "state_dict_mib": buf.getbuffer().nbytes / 2**20,
    }


def run_child(key: str, workdir: Path) -> dict[str, Any]:
    """Measure one option end to end in this (fresh) process and save its vectors under ``workdir``."""
    from assistant.index.models import force_offline, resolve_model

    force_offline()
    option = BY_KEY[key]
    out: dict[str, Any] = {"key": key, "option": asdict(option), "loadavg_start": os.getloadavg()}
    t0 = time.perf_counter()
    import sentence_transformers  # noqa: F401
    import torch

    out["import_s"] = time.perf_counter() - t0
    out["torch_version"] = torch.__version__
    from assistant.answer import evals
    from assistant.engine import Engine, Settings, build

    spec = resolve_model(None)
    emb = OptionEmbedder(spec, option)
    t0 = time.perf_counter()
    _ = emb.model
    out["load_total_s"] = time.perf_counter() - t0
    out["load_s"] = emb.load_s
    out["quantise_s"] = emb.quantise_s
    out["quantise_warnings"] = emb.quantise_warnings
    out["torch_threads"] = torch.get_num_threads()
    out["fingerprint"] = emb.fingerprint
    out["dim"] = emb.dim
    out["rss_after_load"] = proc_status()

    # Warm-up (first-call allocations, kernel selection), then a full build with the injected embedder.
    emb.encode_documents(["warm-up passage"], ["warm-up title"])
    emb.encode_queries(["warm-up question"])
    emb.document_seconds = 0.0
    emb.captured = []
    settings = Settings(corpus_dir=ROOT / "corpus", index_dir=workdir / f"index-{key}")
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    report = build(settings, embedder=emb)
    out["build"] = {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": cpu_seconds() - cpu0,
        "inprocess_s": report.seconds,
        "embed_s": emb.document_seconds,
        "chunks": report.n_chunks,
        "embedded": report.embedded,
        "units": report.n_paragraphs,
    }
    doc_vectors = np.concatenate(emb.captured)
    emb.captured = None
    np.save(workdir / f"docs-{key}.npy", doc_vectors)
    out["index_vectors_bytes"] = int(doc_vectors.nbytes)

    # Quality: the shipped hybrid engine over this index, then dense retrieval alone.
    engine = Engine.open(settings, embedder=emb)
    out["policy"] = engine.policy.source
    out["manifest_model"] = engine.index.manifest.model_name
    items = evals.load_items(QUESTIONS)
    t0 = time.perf_counter()
    results = evals.run_eval(items, lambda qs: engine.ask_many(qs, k=K))
    out["eval_s"] = time.perf_counter() - t0
    out["grouped"] = evals.grouped(results)
    out["retrieval"] = retrieval_metrics(results)
    out["ranks"] = {r.item.id: r.rank for r in results if r.item.answerable}
    out["answered"] = {r.item.id: r.answerable for r in results}
    searches = [a.timings_ms["search"] for a in engine.ask_many([i.question for i in items[:N_LATENCY]], k=K)]
    out["search_p50_ms"] = statistics.median(searches)
    w = engine.retriever.weights
    dense = Engine(settings, emb, engine.index, replace(w, doc_hint=0, kind_hint=0), lexical=False)
    dense_results = evals.run_eval([i for i in items if i.answerable], lambda qs: dense.ask_many(qs, k=K))
    out["dense_retrieval"] = retrieval_metrics(dense_results)

    # Speed in isolation: warm single-query encodes (the paired run gives the deciding ratios).
    for item in items[:WARMUP]:
        emb.encode_queries([item.question])
    times, query_vectors = [], []
    for item in items[:N_LATENCY]:
        t0 = time.perf_counter()
        query_vectors.append(emb.encode_queries([item.question])[0])
        times.append((time.perf_counter() - t0) * 1000)
    np.save(workdir / f"queries-{key}.npy", np.stack(query_vectors))
    out["query"] = {"n": len(times), "p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}
    out["rss_end"] = proc_status()
    out["loadavg_end"] = os.getloadavg()
    out["weights"] = weight_stats(emb.model)
    return out


PAIRED_LATENCY = ("baseline", "baseline_aa", "int8", "threads1")
PAIRED_DOCS = ("baseline", "baseline_aa", "int8", "threads1", "batch8", "batch32", "batch64")


def paired_configs(keys: Sequence[str]) -> list[str]:
    """The encoder configurations the interleaved run compares (MRL options share their encoder's)."""
    need = {"baseline", "baseline_aa"} | {k for k in keys if k in BY_KEY and not BY_KEY[k].dim}
    if "int8_mrl256" in keys:
        need.add("int8")
    return [k for k in PAIRED_DOCS if k in need]


def run_paired(keys: Sequence[str], passes: int, rounds: int) -> dict[str, Any]:
    """Interleaved timings of the encoder configurations in one process, so drift hits all of them alike.

    ``baseline_aa`` is the baseline again under another label (an A/A control: its ratio to the
    baseline shows the noise). Query latency: every question is encoded by every configuration in
    turn (order reversed on alternate questions), ``passes`` times. Passage encoding: one
    ``embed_with_cache``-sized group of chunks spread over the corpus, ``rounds`` times, order
    reversed on alternate rounds. Threads are switched before each call (one untimed call after a switch).
    """
    from assistant.index.models import force_offline, resolve_model

    force_offline()
    import torch

    from assistant.answer import evals
    from assistant.index.store import chunk_title
    from assistant.ingest.chunking import chunk_paragraphs
    from assistant.ingest.corpus import load_corpus

    configs = paired_configs(keys)
    spec = resolve_model(None)
    fp32 = OptionEmbedder(spec, BY_KEY["baseline"])
    _ = fp32.model
    default_threads = torch.get_num_threads()
    embedders: dict[str, OptionEmbedder] = {}
    for key in configs:
        option = BY_KEY.get(key, BY_KEY["baseline"])
        if key == "int8":
            embedders[key] = OptionEmbedder(spec, option)
            _ = embedders[key].model
            torch.set_num_threads(default_threads)
        else:
            embedders[key] = OptionEmbedder(spec, option)
            embedders[key].share_model(fp32)
    threads = {k: BY_KEY.get(k, BY_KEY["baseline"]).threads or default_threads for k in configs}
    current = [torch.get_num_threads()]

    def switch(key: str) -> bool:
        if current[0] == threads[key]:
            return False
        torch.set_num_threads(threads[key])
        current[0] = threads[key]
        return True

    out: dict[str, Any] = {
        "configs": configs,
        "default_threads": default_threads,
        "loadavg_start": os.getloadavg(),
    }
    items = evals.load_items(QUESTIONS)[:N_LATENCY]
    lat_configs = [k for k in PAIRED_LATENCY if k in configs]
    for key in lat_configs:
        switch(key)
        for item in items[:WARMUP]:
            embedders[key].encode_queries([item.question])
    latency: dict[str, list[float]] = {k: [] for k in lat_configs}
    for p in range(passes):
        for i, item in enumerate(items):
            order = lat_configs if (i + p) % 2 == 0 else lat_configs[::-1]
            for key in order:
                if switch(key):
                    embedders[key].encode_queries([item.question])
                t0 = time.perf_counter()
                embedders[key].encode_queries([item.question])
                latency[key].append((time.perf_counter() - t0) * 1000)
    out["latency_ms"] = latency

    documents = load_corpus(ROOT / "corpus")
    metas = {d.doc_id: d.meta for d in documents}
    paragraphs = [p for d in documents for p in d.paragraphs]
    by_ref = {p.ref: p for p in paragraphs}
    chunks = chunk_paragraphs(paragraphs)
    sample = chunks[:: max(1, len(chunks) // EMBED_GROUP)][:EMBED_GROUP]
    texts = [c.text for c in sample]
    titles = [chunk_title(metas[c.doc_id], by_ref[c.ref]) for c in sample]
    docs: dict[str, list[float]] = {k: [] for k in configs}
    for r in range(rounds):
        for key in configs if r % 2 == 0 else configs[::-1]:
            switch(key)
            embedders[key].encode_documents(texts[:2], titles[:2])
            t0 = time.perf_counter()
            embedders[key].encode_documents(texts, titles)
            docs[key].append(time.perf_counter() - t0)
    out["docs_s"] = docs
    out["doc_sample"] = len(sample)
    out["doc_sample_chars"] = sum(len(t) for t in texts)
    out["loadavg_end"] = os.getloadavg()
    return out


# ---------------------------------------------------------------- the parent: run, compare, report


def child_env() -> dict[str, str]:
    """The environment of a child: offline, quiet, repo on the path, no overrides of model/index/threads."""
    drop = ("ASSISTANT_THREADS", "ASSISTANT_MODEL", "ASSISTANT_INDEX", "ASSISTANT_CORPUS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "TRANSFORMERS_VERBOSITY": "error",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def spawn(child: str, extra: Sequence[str]) -> dict[str, Any]:
    """Run this script as ``--child <child>`` in a fresh process; a failure is recorded, not raised."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", child, *extra]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, env=child_env(), capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return {"key": child, "error": f"timed out after {CHILD_TIMEOUT_S} s"}
    wall = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-6:]
        return {"key": child, "error": f"exit {proc.returncode}: " + " | ".join(tail)}
    data = json.loads(lines[-1])
    data["child_wall_s"] = wall
    return data


def fidelity(workdir: Path, key: str, dim: int | None) -> dict[str, float]:
    """Cosine of this option's vectors to the baseline's (cut to the same dimension, re-normalised)."""
    out = {}
    for kind in ("docs", "queries"):
        ref = np.load(workdir / f"{kind}-baseline.npy")
        got = np.load(workdir / f"{kind}-{key}.npy")
        ref = normalise_rows(ref[:, : dim or ref.shape[1]])
        cos = np.sum(ref * got, axis=1)
        out[f"{kind}_mean_cos"] = float(cos.mean())
        out[f"{kind}_min_cos"] = float(cos.min())
        out[f"{kind}_max_abs_diff"] = float(np.abs(ref - got).max())
    return out


def quality_costs(row: dict, base: dict) -> list[str]:
    """Where an option is worse than the baseline: rank-1 or top-5 down, or MRR@10 down by > 0.005."""
    costs = []
    for lang in LANGS:
        r, b = row["retrieval"][lang], base["retrieval"][lang]
        n = b["n_answerable"]
        for metric in ("rank1", "top5"):
            lost = round((b[metric] - r[metric]) * n)
            if lost > 0:
                costs.append(f"{lang} {metric} {r[metric] - b[metric]:+.3f} ({lost} of {n:.0f} questions)")
        if r["mrr10"] < b["mrr10"] - MRR_TOLERANCE:
            costs.append(f"{lang} MRR@10 {r['mrr10'] - b['mrr10']:+.3f}")
    return costs


def ratio(value: float, base: float) -> float:
    """value / base (NaN when the base is 0)."""
    return value / base if base else float("nan")


ISOLATED = {
    "build_wall": lambda r: r["build"]["wall_s"],
    "build_cpu": lambda r: r["build"]["cpu_s"],
    "query_p50": lambda r: r["query"]["p50_ms"],
    "query_p95": lambda r: r["query"]["p95_ms"],
    "load": lambda r: r["load_total_s"],
    "peak_rss": lambda r: r["rss_end"]["VmHWM"],
}


def paired_ratios(paired: dict) -> dict[str, dict[str, float]]:
    """Per encoder configuration: query-latency and passage-encoding ratios to the baseline (same process)."""
    out: dict[str, dict[str, float]] = {}
    lat, docs = paired.get("latency_ms", {}), paired.get("docs_s", {})
    for key in paired.get("configs", []):
        row: dict[str, float] = {}
        if key in lat:
            a, b = np.asarray(lat[key]), np.asarray(lat["baseline"])
            row.update(
                {
                    "query_p50_ms": pct(a, 50),
                    "query_p95_ms": pct(a, 95),
                    "query_p50": pct(a, 50) / pct(b, 50),
                    "query_p95": pct(a, 95) / pct(b, 95),
                    "query_paired": float(np.median(a / b)),
                }
            )
        if key in docs:
            row["docs_s"] = float(np.median(docs[key]))
            row["docs"] = float(np.median(docs[key]) / np.median(docs["baseline"]))
            row["docs_rounds"] = [a / b for a, b in zip(docs[key], docs["baseline"], strict=True)]
        out[key] = row
    return out


def encoder_of(key: str) -> str:
    """The paired-run configuration whose encoder work an option shares (MRL only slices the output)."""
    option = BY_KEY[key]
    if option.dim:
        return "int8" if option.int8 else "baseline"
    return key


def noise_bands(rows: dict[str, dict], pr: dict[str, dict[str, float]]) -> dict[str, Any]:
    """How far identical work strays from the baseline: A/A control (paired) and MRL runs (isolated)."""
    base = rows["baseline"]
    same = [
        r for k, r in rows.items() if k != "baseline" and "error" not in r and BY_KEY[k].baseline_equivalent
    ]
    out: dict[str, Any] = {"isolated_runs": [r["key"] for r in same]}
    for name, get in ISOLATED.items():
        devs = [abs(ratio(get(r), get(base)) - 1) for r in same]
        out[f"{name}_observed"] = max(devs) if devs else None
        out[name] = max([NOISE_FLOOR, *devs])
    aa = pr.get("baseline_aa", {})
    for name in ("query_p50", "query_paired", "docs"):
        dev = abs(aa[name] - 1) if name in aa else None
        out[f"paired_{name}_observed"] = dev
        out[f"paired_{name}"] = max(NOISE_FLOOR, dev or 0.0)
    return out


def speed_figures(key: str, rows: dict[str, dict], pr: dict[str, dict[str, float]]) -> dict[str, float]:
    """The ratios a verdict looks at: paired where measured (drift-free), isolated otherwise.

    Only what the option can change is judged: int8 everything; threads the two encode speeds; the batch
    size passage encoding and memory (it cannot change a one-question encode); a Matryoshka cut on the
    fp32 model nothing (the model does the same work; only the index shrinks).
    """
    row, base = rows[key], rows["baseline"]
    option = BY_KEY[key]
    paired = pr.get(encoder_of(key), {})
    out = {
        "encode_docs": paired.get("docs", ratio(row["build"]["wall_s"], base["build"]["wall_s"])),
        "query": paired.get("query_paired", ratio(row["query"]["p50_ms"], base["query"]["p50_ms"])),
        "load": ratio(row["load_total_s"], base["load_total_s"]),
        "peak_rss": ratio(row["rss_end"]["VmHWM"], base["rss_end"]["VmHWM"]),
    }
    if option.int8:
        keep = set(out)
    elif option.threads:
        keep = {"encode_docs", "query"}
    elif option.batch_size != BY_KEY["baseline"].batch_size:
        keep = {"encode_docs", "peak_rss"}
    else:
        keep = set()
    return {k: v for k, v in out.items() if k in keep}


def speed_effects(key: str, rows: dict, pr: dict, bands: dict) -> tuple[list[str], list[str], list[str]]:
    """(gains, losses, unclear) beyond the noise band: passage encoding, query latency, model load, peak RSS.

    A paired passage-encoding effect must hold in every round, not only in the sum.
    """
    paired = encoder_of(key) in pr
    rounds = pr.get(encoder_of(key), {}).get("docs_rounds", [])
    band = {
        "encode_docs": bands["paired_docs"] if paired else bands["build_wall"],
        "query": bands["paired_query_paired"] if paired else bands["query_p50"],
        "load": bands["load"],
        "peak_rss": NOISE_FLOOR,
    }
    names = {
        "encode_docs": "passage encoding",
        "query": "query encode",
        "load": "model load",
        "peak_rss": "peak RSS",
    }
    gains: list[str] = []
    losses: list[str] = []
    unclear: list[str] = []
    for name, x in speed_figures(key, rows, pr).items():
        text = f"{names[name]} ×{x:.2f}"
        spread = rounds if name == "encode_docs" and rounds else [x]
        if x < 1 - band[name] and max(spread) < 1 - band[name]:
            gains.append(text)
        elif x > 1 + band[name] and min(spread) > 1 + band[name]:
            losses.append(text)
        elif abs(x - 1) > band[name]:
            unclear.append(f"{text} but not in every round ({', '.join(f'×{r:.2f}' for r in spread)})")
    return gains, losses, unclear


def verdict(key: str, rows: dict, pr: dict, bands: dict) -> tuple[str, str]:
    """Keep or not, and why, from the measured numbers only."""
    row, base = rows[key], rows["baseline"]
    option = BY_KEY[key]
    if "error" in row:
        return "failed", f"the run failed: {row['error']}"
    if option.kind == "baseline":
        return "reference", "the shipped configuration"
    costs = quality_costs(row, base)
    gains, losses, unclear = speed_effects(key, rows, pr, bands)
    parts = [
        *(f"better: {g}" for g in gains),
        *(f"worse: {x}" for x in losses),
        *(f"unclear: {u}" for u in unclear),
    ]
    if not speed_figures(key, rows, pr):
        speed = "the model does the same work, so encoding speed, load time and memory are unchanged"
    else:
        speed = "; ".join(parts) or "no speed or memory change beyond noise"
    if costs:
        return "don't keep", "costs quality: " + "; ".join(costs) + f" (speed: {speed})"
    if option.dim:
        size = row["index_vectors_bytes"] / base["index_vectors_bytes"]
        tail = (
            f"no quality cost; index vectors ×{size:.2f} ({row['index_vectors_bytes'] / 1e6:.2f} MB vs "
            f"{base['index_vectors_bytes'] / 1e6:.2f} MB)"
        )
        if option.int8 and gains and not losses:
            return "keep", f"{tail}; {speed}"
        return (
            "no cost, no gain now",
            f"{tail}; {speed}; it pays only when flat search or index memory matters (a far larger "
            "corpus), and would need its own abstention calibration",
        )
    if gains and not losses:
        return "keep", f"no quality cost; {speed}"
    if losses:
        return "don't keep", f"no quality cost, but {speed}"
    if unclear:
        return "not shown", f"no quality cost; {speed}: not kept until a longer paired run confirms it"
    return "no effect", f"no quality cost and {speed}: nothing to gain"


def fmt_delta(value: float, base: float) -> str:
    """A signed difference, or ±0."""
    d = value - base
    return "±0" if abs(d) < 5e-4 else f"{d:+.3f}"


def fmt_ratio(x: float | None) -> str:
    """×ratio, or – when not measured."""
    return "–" if x is None or x != x else f"×{x:.2f}"


def render(res: dict) -> str:
    """The Markdown report."""
    rows: dict[str, dict] = res["rows"]
    base = rows["baseline"]
    bands = res["noise"]
    pr: dict[str, dict[str, float]] = res["paired_ratios"]
    paired = res["paired"]
    ok = [k for k in rows if "error" not in rows[k]]
    n_zh = base["retrieval"]["zh"]["n_answerable"]
    n_en = base["retrieval"]["en"]["n_answerable"]
    lines = [
        "# Model options: int8, Matryoshka dimensions, threads, batch size (issue #6)",
        "",
        f"One run, {res['date']}, {res['machine']}; torch {res['versions']['torch']}, "
        f"sentence-transformers {res['versions']['sentence_transformers']}, model "
        f"`{base['manifest_model']}`. Command: `{res['command']}` ({res['duration_s'] / 60:.1f} min). "
        f"1-minute load average seen during the run: {res['loadavg_min']:.2f}–{res['loadavg_max']:.2f} "
        "on 2 cores: other work was running at the same time, so all timings are under contention.",
        "",
        code_line(res),
        "",
        "Each option is a wrapper around the shipped `SentenceTransformerEmbedder` (same model files, same "
        "`query` and titled `document` prompts) measured in its own child process (**isolated** figures): "
        f"model load (+ option), a full index build of all {base['build']['chunks']} chunks into a "
        "temporary folder (an injected embedder bypasses the embedding cache), the evaluation set through "
        f"the shipped hybrid engine (`evals.run_eval`, k = {K}), and warm single-query encodes of the first "
        f"{N_LATENCY} questions. Because the isolated runs follow each other minutes apart while other work "
        "comes and goes, the speed ratios that decide come from one extra **paired** process that holds the "
        "fp32 and the int8 model and interleaves the configurations call by call (plus an A/A control, the "
        "baseline under a second name). Quality = rank-1 / top-5 / MRR@10 over the answerable questions "
        f"(zh {n_zh:.0f}, en {n_en:.0f}). Ratios and deltas are against the baseline of this run.",
        "",
        "Rule: an option costs quality if rank-1 or top-5 drops in either language (even by one question), "
        f"or MRR@10 drops by more than {MRR_TOLERANCE}. A speed or memory change counts only beyond the "
        "noise band (see Noise).",
        "",
        "## Summary",
        "",
        "| option | zh rank-1 / top-5 / MRR Δ | en rank-1 / top-5 / MRR Δ | passage encoding × (paired) "
        "| query encode × (paired) | index build s (isolated) | model load × | peak RSS × | index size × "
        "| verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, row in rows.items():
        v, _ = res["verdicts"][key]
        if "error" in row:
            lines.append(f"| {BY_KEY[key].label} | – | – | – | – | – | – | – | – | **{v}** |")
            continue
        cells = []
        for lang in LANGS:
            r, b = row["retrieval"][lang], base["retrieval"][lang]
            cells.append(" / ".join(fmt_delta(r[m], b[m]) for m in ("rank1", "top5", "mrr10")))
        enc = encoder_of(key)
        shared = "" if enc == key else f" ({enc} encoder)"
        p = pr.get(enc, {})
        lines.append(
            f"| {BY_KEY[key].label} | {cells[0]} | {cells[1]} | {fmt_ratio(p.get('docs'))}{shared} "
            f"| {fmt_ratio(p.get('query_paired'))}{shared if 'query_paired' in p else ''} "
            f"| {row['build']['wall_s']:.0f} "
            f"| {fmt_ratio(ratio(row['load_total_s'], base['load_total_s']))} "
            f"| {fmt_ratio(ratio(row['rss_end']['VmHWM'], base['rss_end']['VmHWM']))} "
            f"| {fmt_ratio(ratio(row['index_vectors_bytes'], base['index_vectors_bytes']))} | **{v}** |"
        )
    lines += [
        "",
        "## Conclusions",
        "",
        *[f"- **{BY_KEY[k].label}: {v}.** {why}." for k, (v, why) in res["verdicts"].items()],
        "",
        "## Retrieval quality (hybrid engine, as shipped)",
        "",
        "| option | dim | zh rank-1 | zh top-5 | zh MRR@10 | en rank-1 | en top-5 | en MRR@10 | all MRR@10 "
        "| dense-only zh / en MRR@10 | questions whose rank changed (baseline → option) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in ok:
        row = rows[key]
        r, d = row["retrieval"], row["dense_retrieval"]
        changed = [
            f"{q} {base['ranks'][q] or '>10'}→{rank or '>10'}"
            for q, rank in row["ranks"].items()
            if rank != base["ranks"].get(q)
        ]
        lines.append(
            f"| {BY_KEY[key].label} | {row['dim']} | {r['zh']['rank1']:.3f} | {r['zh']['top5']:.3f} "
            f"| {r['zh']['mrr10']:.3f} | {r['en']['rank1']:.3f} | {r['en']['top5']:.3f} "
            f"| {r['en']['mrr10']:.3f} "
            f"| {r['all']['mrr10']:.3f} | {d['zh']['mrr10']:.3f} / {d['en']['mrr10']:.3f} "
            f"| {', '.join(changed) if changed else 'none'} |"
        )
    lines += [
        "",
        "Dense-only = the same index searched without BM25, glossary expansion or hints (as in "
        "bench/retrieval.py); shown because the hybrid can hide a weaker dense signal. It is not part "
        "of the rule.",
        "",
        f"## Abstention and citations (`evals.run_eval`, all {base['grouped']['all']['n']:.0f} questions)",
        "",
        "Indicative only for every option but the baseline: the abstention bars in "
        "`assistant/calibration.toml` were calibrated on the baseline's dense scores. The wrappers keep the "
        "model name, so the same bars apply (policy column), but quantisation and truncation shift the "
        "cosine scale, so an adopted option would need its own `assistant eval --calibrate`.",
        "",
        "| option | policy | false abstention zh / en | abstention recall zh / en "
        "| abstention precision (all) | first citation (all) | quote has gold (all) "
        "| answer/abstain decisions changed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in ok:
        row = rows[key]
        g = row["grouped"]
        flips = sum(row["answered"][q] != base["answered"][q] for q in row["answered"])
        lines.append(
            f"| {BY_KEY[key].label} | {row['policy']} "
            f"| {g['lang=zh']['false_abstention']:.3f} / {g['lang=en']['false_abstention']:.3f} "
            f"| {g['lang=zh']['abstention_recall']:.3f} / {g['lang=en']['abstention_recall']:.3f} "
            f"| {g['all'].get('abstention_precision', float('nan')):.3f} | {g['all']['first_citation']:.3f} "
            f"| {g['all']['quote_has_gold']:.3f} | {flips} |"
        )
    lines += [
        "",
        "## Speed, paired (one process, configurations interleaved call by call)",
        "",
    ]
    if "error" in paired:
        lines.append(f"The paired run failed: {paired['error']}")
    else:
        n_lat = len(paired["latency_ms"]["baseline"])
        lines += [
            f"Query encode: {n_lat} single-question encodes per configuration ({res['passes']} passes over "
            f"the first {N_LATENCY} questions, order reversed on alternate questions); the paired ratio is "
            "the median over questions of (option ms ÷ baseline ms for the same question and pass). "
            f"Passage encoding: the same {paired['doc_sample']} chunks ({paired['doc_sample_chars']} "
            f"characters, every {max(1, base['build']['chunks'] // EMBED_GROUP)}th chunk: one "
            f"`embed_with_cache` group) encoded {res['rounds']} times per configuration, order reversed on "
            "alternate rounds; ratio of median seconds. Load average "
            f"{paired['loadavg_start'][0]:.2f} → {paired['loadavg_end'][0]:.2f}.",
            "",
            "| configuration | query p50 / p95 ms | query p50 × | query p95 × | paired query × "
            "| passage encoding s (median) | passage encoding × |",
            "|---|---|---|---|---|---|---|",
        ]
        for key, p in pr.items():
            label = "baseline again (A/A control)" if key == "baseline_aa" else BY_KEY[key].label
            q = (
                f"{p['query_p50_ms']:.1f} / {p['query_p95_ms']:.1f} | {fmt_ratio(p['query_p50'])} "
                f"| {fmt_ratio(p['query_p95'])} | {fmt_ratio(p['query_paired'])}"
                if "query_p50" in p
                else "– | – | – | – (same as baseline for one text per call)"
            )
            lines.append(f"| {label} | {q} | {p['docs_s']:.1f} | {fmt_ratio(p['docs'])} |")
    lines += [
        "",
        "## Speed and footprint, isolated (one process per option, run one after another)",
        "",
        "| option | torch threads | load avg | model load s (of which quantise) | build wall s "
        "| … embedding s | build CPU s | query p50 / p95 ms | search p50 ms | RSS after load MiB "
        "| peak RSS MiB | state dict MiB | index vectors MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in ok:
        row = rows[key]
        b, q = row["build"], row["query"]
        lines.append(
            f"| {BY_KEY[key].label} | {row['torch_threads']} "
            f"| {row['loadavg_start'][0]:.1f}→{row['loadavg_end'][0]:.1f} | {row['load_total_s']:.2f} "
            f"({row['quantise_s']:.2f}) | {b['wall_s']:.1f} | {b['embed_s']:.1f} | {b['cpu_s']:.0f} "
            f"| {q['p50_ms']:.1f} / {q['p95_ms']:.1f} "
            f"| {row['search_p50_ms']:.2f} | {row['rss_after_load']['VmRSS']:.0f} "
            f"| {row['rss_end']['VmHWM']:.0f} "
            f"| {row['weights']['state_dict_mib']:.0f} | {row['index_vectors_bytes'] / 1e6:.2f} |"
        )
    lines += [
        "",
        "Build wall = `engine.build(settings, embedder=...)` incl. corpus cleaning and writing; "
        "… embedding = time inside `encode_documents`; build CPU = user + system seconds of the process "
        "over the build "
        "(all threads). Peak RSS = VmHWM of the child at the end (model load, build, evaluation); search = "
        "the engine's search step (FAISS + BM25 + fusion).",
        "",
        "## Vector fidelity against the baseline",
        "",
        "Cosine between each option's vectors and the baseline's (truncated to the option's dimension and "
        f"re-normalised), over the {base['build']['chunks']} chunk vectors and the {N_LATENCY} timed query "
        "vectors.",
        "",
        "| option | chunks mean / min cosine | queries mean / min cosine "
        "| max abs difference (chunks / queries) |",
        "|---|---|---|---|",
    ]
    for key in ok:
        if key == "baseline":
            continue
        f = res["fidelity"][key]
        lines.append(
            f"| {BY_KEY[key].label} | {f['docs_mean_cos']:.4f} / {f['docs_min_cos']:.4f} "
            f"| {f['queries_mean_cos']:.4f} / {f['queries_min_cos']:.4f} "
            f"| {f['docs_max_abs_diff']:.1e} / {f['queries_max_abs_diff']:.1e} |"
        )

    def pc(x: float | None) -> str:
        return "–" if x is None else f"{x * 100:.0f} %"

    lines += [
        "",
        "## Noise",
        "",
        "Paired: the A/A control (the baseline encoded twice under two names, interleaved) differs from "
        f"the baseline by {pc(bands.get('paired_query_paired_observed'))} (paired query ratio), "
        f"{pc(bands.get('paired_query_p50_observed'))} (query p50) and "
        f"{pc(bands.get('paired_docs_observed'))} (passage encoding).",
        "Isolated: the options that do exactly the baseline's encoder work (fp32, batch 16, default "
        f"threads; Matryoshka only slices the output: {', '.join(bands['isolated_runs']) or 'none run'}) "
        "stray from the baseline by up to "
        + ", ".join(f"{k.replace('_', ' ')} {pc(bands.get(f'{k}_observed'))}" for k in ISOLATED)
        + ". Their index builds took "
        + ", ".join(f"{k} {rows[k]['build']['wall_s']:.0f} s" for k in ["baseline", *bands["isolated_runs"]])
        + ": the same work, so the isolated build column is mostly a record of what else was running, "
        "and the index build × it would give is not used for any verdict.",
        "A speed or memory effect counts only beyond the matching band "
        f"(at least {NOISE_FLOOR * 100:.0f} %): "
        "the paired bands for passage encoding and query encode, the isolated band for model load, "
        f"{NOISE_FLOOR * 100:.0f} % for peak RSS.",
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in res["notes"]],
        "",
    ]
    return "\n".join(lines)


def code_state() -> dict[str, Any]:
    """The code the children import: git HEAD, uncommitted files under assistant/, a digest of its sources."""
    import hashlib

    def git(*cmd: str) -> str:
        proc = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=False)
        return proc.stdout.rstrip()

    h = hashlib.sha256()
    for path in sorted((ROOT / "assistant").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".toml"):
            h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return {
        "head": git("rev-parse", "--short", "HEAD").strip(),
        "uncommitted": [ln[3:] for ln in git("status", "--porcelain", "--", "assistant").splitlines()],
        "assistant_sha256": h.hexdigest()[:16],
    }


def code_line(res: dict) -> str:
    """One sentence on the code state of the run (recorded at its start and end)."""
    code = res.get("code")
    if not code:
        return res.get("code_note", "")
    start, end = code["start"], code["end"]
    text = f"Code: HEAD {start['head']}"
    if start["uncommitted"]:
        text += (
            f" plus uncommitted changes in {len(start['uncommitted'])} files under assistant/ "
            f"({', '.join(start['uncommitted'])})"
        )
    text += f"; digest of assistant/*.py + *.toml {start['assistant_sha256']} at the start of the run"
    if end["assistant_sha256"] == start["assistant_sha256"]:
        return text + " and the same at the end, so every child ran the same code."
    return text + f", {end['assistant_sha256']} at the end: **the code changed during the run**."


def notes(rows: dict[str, dict], paired: dict) -> list[str]:
    """Facts about this run that the tables do not show."""
    out = []
    base = rows["baseline"]
    w = base["weights"]
    total = w["embedding_params"] + w["fp32_linear_params"]
    out.append(
        f"EmbeddingGemma-300m: {w['embedding_params'] / 1e6:.0f} M parameters in the token-embedding table "
        f"(nn.Embedding, untouched by dynamic quantisation) and {w['fp32_linear_params'] / 1e6:.0f} M in "
        f"{w['fp32_linear_modules']:.0f} nn.Linear layers ({w['fp32_linear_params'] / total * 100:.0f} % of "
        "the two); int8 therefore shrinks only the Linear part."
    )
    for row in rows.values():
        if "error" in row or not row["option"]["int8"]:
            continue
        q = row["weights"]
        out.append(
            "int8: `torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, "
            f"inplace=True)` on the loaded SentenceTransformer works on torch {row['torch_version']}: it "
            f"replaced {q['quantised_linear_modules']:.0f} Linear layers (the transformer's and the two "
            f"Dense heads) in {row['quantise_s']:.2f} s. Warnings it raised: "
            + (
                "; ".join(f"“{m.strip().split('. ')[0].rstrip('.')}.”" for m in row["quantise_warnings"])
                or "none"
            )
            + ". Quantisation runs after the fp32 model is loaded, so it cannot lower the peak; resident "
            f"size after load was {row['rss_after_load']['VmRSS']:.0f} MiB vs "
            f"{base['rss_after_load']['VmRSS']:.0f} MiB for the baseline (the freshly allocated int8 "
            "weights come on top of the fp32 pages already touched). The int8 saving shows in the "
            f"state-dict size: {q['state_dict_mib']:.0f} MiB vs {w['state_dict_mib']:.0f} MiB."
        )
        break
    out.append(
        "Batch size: `assistant.index.embedcache.embed_with_cache` hands the embedder at most "
        f"{EMBED_GROUP} chunks per call and sentence-transformers sorts each call by length, so batch "
        f"sizes above {EMBED_GROUP} cannot differ from {EMBED_GROUP}; the batch size does not affect "
        "single-query latency (one text per call)."
    )
    out.append(
        "Threads and batch size leave the vectors unchanged up to float rounding (see fidelity); their "
        "quality rows are a check, their effect is speed only."
    )
    out.append(
        "Nothing was tuned on the eval set: the options, the dimensions (EmbeddingGemma's Matryoshka "
        "sizes) and the quality rule were fixed before the run; the fusion weights and abstention bars are "
        "the shipped ones."
    )
    for row in rows.values():
        if "error" in row:
            out.append(f"{BY_KEY[row['key']].label} failed: {row['error']}")
    if "error" in paired:
        out.append(f"The paired run failed: {paired['error']}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the batch-size variants and 512-d")
    parser.add_argument("--options", help="comma-separated option keys to run (baseline always runs)")
    parser.add_argument("--passes", type=int, default=LATENCY_PASSES, help="paired query-latency passes")
    parser.add_argument("--rounds", type=int, default=DOC_ROUNDS, help="paired passage-encoding rounds")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "model-options-report")
    parser.add_argument("--render", type=Path, help="only re-render the report from a saved JSON")
    parser.add_argument("--note", action="append", help="with --render, add a line to the notes")
    parser.add_argument("--code-note", help="with --render, the code-state sentence for a run without one")
    parser.add_argument("--child", choices=[*sorted(BY_KEY), "paired"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keys", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "paired":
        print(json.dumps(run_paired(args.keys.split(","), args.passes, args.rounds)))
        return 0
    if args.child:
        print(json.dumps(run_child(args.child, args.workdir), ensure_ascii=False))
        return 0
    if args.render:
        res = json.loads(args.render.read_text(encoding="utf-8"))
        rows, paired = res["rows"], res["paired"]
        res["paired_ratios"] = paired_ratios(paired) if "error" not in paired else {}
        res["noise"] = noise_bands(rows, res["paired_ratios"])
        res["verdicts"] = {k: verdict(k, rows, res["paired_ratios"], res["noise"]) for k in rows}
        res["notes"] = notes(rows, paired) + list(args.note or [])
        if args.code_note:
            res["code_note"] = args.code_note
        args.out.with_suffix(".json").write_text(
            json.dumps(res, indent=1, ensure_ascii=False), encoding="utf-8"
        )
        args.out.with_suffix(".md").write_text(render(res), encoding="utf-8")
        return 0

    keys = [o.key for o in OPTIONS if not (args.quick and o.key in QUICK_SKIP)]
    if args.options:
        wanted = set(args.options.split(","))
        unknown = wanted - set(BY_KEY)
        if unknown:
            parser.error(f"unknown option keys: {', '.join(sorted(unknown))}")
        keys = [k for k in keys if k == "baseline" or k in wanted]
    command = "python bench/model_options.py" + (" --quick" if args.quick else "")
    command += f" --options {args.options}" if args.options else ""
    command += f" --passes {args.passes}" if args.passes != LATENCY_PASSES else ""
    command += f" --rounds {args.rounds}" if args.rounds != DOC_ROUNDS else ""
    import sentence_transformers
    import torch

    started = time.monotonic()
    code_start = code_state()
    loads = [os.getloadavg()[0]]

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    rows: dict[str, dict] = {}
    paired: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="assistant-model-options-") as tmpname:
        workdir = Path(tmpname)
        for key in keys:
            log(f"{key} …")
            rows[key] = spawn(key, ["--workdir", str(workdir)])
            if "error" in rows[key]:
                log(f"{key} failed: {rows[key]['error']}")
                if key == "baseline":
                    return 1
                continue
            r = rows[key]
            loads += [r["loadavg_start"][0], r["loadavg_end"][0]]
            log(
                f"{key}: build {r['build']['wall_s']:.1f} s, query p50 {r['query']['p50_ms']:.1f} ms, "
                f"MRR@10 zh/en {r['retrieval']['zh']['mrr10']:.3f}/{r['retrieval']['en']['mrr10']:.3f}"
            )
            if key == "baseline":
                log("paired speed run …")
                extra = ["--keys", ",".join(keys), "--passes", str(args.passes), "--rounds", str(args.rounds)]
                paired = spawn("paired", extra)
                if "error" in paired:
                    log(f"paired run failed: {paired['error']}")
                else:
                    loads += [paired["loadavg_start"][0], paired["loadavg_end"][0]]
        fid = {
            k: fidelity(workdir, k, r["option"]["dim"])
            for k, r in rows.items()
            if k != "baseline" and "error" not in r
        }
    pr = paired_ratios(paired) if "error" not in paired else {}
    bands = noise_bands(rows, pr)
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in ln
        ),
        platform.processor(),
    )
    res: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores ({cpu}, torch CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}), Python {platform.python_version()}",
        "versions": {"torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__},
        "command": command,
        "passes": args.passes,
        "rounds": args.rounds,
        "duration_s": time.monotonic() - started,
        "loadavg_min": min(loads),
        "loadavg_max": max(loads),
        "noise": bands,
        "paired_ratios": pr,
        "fidelity": fid,
        "paired": paired,
        "rows": rows,
        "code": {"start": code_start, "end": code_state()},
    }
    res["verdicts"] = {k: verdict(k, rows, pr, bands) for k in rows}
    res["notes"] = notes(rows, paired)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=1, ensure_ascii=False), encoding="utf-8")
    text = render(res)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
