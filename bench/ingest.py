"""Bringing papers in, measured: answers over PDF-ingested seeds beside the .txt seeds, and the cost
of adding a long PDF.

    python bench/ingest.py                     # writes bench/ingest-report.{md,json} (~10 min)
    python bench/ingest.py --quick             # the main eval set only, 60 pages only

1. Each seed is typeset as a PDF (``tests/pdfmaker.py``: reportlab's STSong-Light, running head,
   page numbers, footnotes at the page foot) in one and in two columns, put in a library with the
   seed's own sidecar (same doc_id, so the eval's gold refs apply), indexed with the real embedding
   model and answered without the reader. The .txt corpus is answered in the same run: the two are
   reported side by side, set by set.
2. A 60-page paper (a seed printed six times) and a 500-page one are read in a child process each:
   read + clean time per page, and peak memory above the child's own baseline (the same imports,
   no file read). The baseline for time is cleaning the same text from the .txt path in the same
   run, so the ratio says what the PDF layer costs beyond the cleaner. End to end, ``add`` of the
   60-page paper into an empty library (embedding included, the embedding cache warm for the
   repeated text, as it is for a user re-adding a paper) is timed too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer import evals  # noqa: E402
from assistant.curate import add_documents  # noqa: E402
from assistant.engine import Engine, build  # noqa: E402
from assistant.ingest.corpus import load_corpus  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from tests.pdfmaker import Style, make_pdf  # noqa: E402

SETS = ("questions", "short", "holdout", "holdout2", "holdout3", "holdout4")
METRICS = (
    "rank1",
    "top5",
    "first_citation",
    "quote_has_gold",
    "abstention_recall",
    "false_abstention",
    "quote_exact",
)


def pdf_library(target: Path, columns: int) -> Path:
    """The seeds as typeset PDFs with their own sidecars and the glossary."""
    target.mkdir(parents=True)
    for doc in load_corpus(ROOT / "corpus"):
        make_pdf(doc, target / f"{doc.doc_id}.pdf", Style(columns=columns))
        shutil.copyfile(ROOT / "corpus" / f"{doc.doc_id}.toml", target / f"{doc.doc_id}.toml")
    shutil.copyfile(ROOT / "corpus" / "glossary.tsv", target / "glossary.tsv")
    return target


def eval_corpus(corpus: Path, index: Path, sets: tuple[str, ...]) -> dict[str, dict[str, float]]:
    settings = Settings.from_env(corpus_dir=corpus, index_dir=index, reader="none")
    build(settings)
    engine = Engine.open(settings, reader=None)
    out = {}
    for name in sets:
        items = evals.load_items(ROOT / "evals" / f"{name}.jsonl")
        results = evals.run_eval(items, lambda qs: engine.ask_many(qs, k=10, use_reader=False))
        out[name] = evals.metrics(results)
    return out


# peak memory from /proc/self/status (VmHWM): ru_maxrss of a forked child starts at the parent's
# peak, which here holds the embedding model
CHILD = """
import json, sys, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
from pathlib import Path
sys.path.insert(0, {root!r})
from assistant.ingest.formats.pdf import read_pdf
from assistant.ingest.segment import clean_document
from assistant.ingest.corpus import read_meta
base = hwm()
meta, drop = read_meta(Path({side!r}))
t = time.perf_counter()
if {path!r}:
    source = read_pdf(Path({path!r}))
    units = clean_document(source, meta, drop)
    pages = source.pages
else:
    units, pages = (), 0
print(json.dumps({{"seconds": time.perf_counter() - t, "pages": pages, "units": len(units),
                  "base_kb": base, "peak_kb": hwm()}}))
"""


def child(path: Path | None, side: Path) -> dict:
    code = CHILD.format(root=str(ROOT), path=str(path) if path else "", side=str(side))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def txt_clean_seconds(repeat: int) -> float:
    from assistant.ingest.corpus import read_meta
    from assistant.ingest.segment import clean_document

    raw = (ROOT / "corpus" / "xu-geng-2021.txt").read_text(encoding="utf-8")
    meta, drop = read_meta(ROOT / "corpus" / "xu-geng-2021.toml")
    t = time.perf_counter()
    clean_document("\n".join([raw] * repeat), meta, drop)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "ingest-report")
    args = ap.parse_args()
    sets = ("questions",) if args.quick else SETS
    started, loads = time.time(), [os.getloadavg()[0]]
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    result: dict = {"command": "python bench/ingest.py" + (" --quick" if args.quick else ""), "sets": {}}
    try:
        variants = {"txt": ROOT / "corpus"}
        for cols in (1, 2):
            variants[f"pdf-{cols}col"] = pdf_library(work / f"pdf{cols}", cols)
        for name, corpus in variants.items():
            print(f"eval over {name} ...", file=sys.stderr)
            result["sets"][name] = eval_corpus(corpus, work / f"index-{name}", sets)
            loads.append(os.getloadavg()[0])

        docs = {d.doc_id: d for d in load_corpus(ROOT / "corpus")}
        side = ROOT / "corpus" / "xu-geng-2021.toml"
        sizes = {"60": 6} if args.quick else {"60": 6, "500": 50}
        files = {}
        for label, repeat in sizes.items():
            files[label] = work / f"long-{label}.pdf"
            make_pdf(docs["xu-geng-2021"], files[label], Style(), repeat=repeat)
        base = child(None, side)
        reads = {label: child(path, side) for label, path in files.items()}
        loads.append(os.getloadavg()[0])
        txt = txt_clean_seconds(6)
        # cold: an empty cache folder (only the models linked in), so every chunk is embedded
        # (the paper repeats its text six times: each distinct chunk is embedded once) and the PDF read
        cold_cache = work / "cold-cache"
        cold_cache.mkdir()
        (cold_cache / "models").symlink_to(Settings.from_env().models_dir)
        settings = Settings.from_env(
            corpus_dir=work / "library", index_dir=work / "index-lib", reader="none", cache_dir=cold_cache
        )
        t = time.perf_counter()
        add_report = add_documents(settings, [files["60"]])
        add_s = time.perf_counter() - t
        # then a rebuild of that library: the cleaned document and its vectors come from the caches
        t = time.perf_counter()
        build(settings)
        rebuild_s = time.perf_counter() - t
        pages60 = reads["60"]["pages"]
        result["add"] = {
            "baseline_child_rss_mb": base["peak_kb"] / 1024,
            "reads": {
                label: {
                    "pages": r["pages"],
                    "units": r["units"],
                    "seconds": r["seconds"],
                    "ms_per_page": 1000 * r["seconds"] / r["pages"],
                    "peak_rss_mb": r["peak_kb"] / 1024,
                    "peak_above_baseline_mb": (r["peak_kb"] - base["peak_kb"]) / 1024,
                }
                for label, r in reads.items()
            },
            "txt_clean_seconds_same_text": txt,
            "pdf_over_txt_ratio": reads["60"]["seconds"] / txt,
            "add_end_to_end_seconds": add_s,
            "add_ms_per_page": 1000 * add_s / pages60,
            "add_chunks_embedded": add_report.build.embedded if add_report.build else 0,
            "add_chunks": add_report.build.n_chunks if add_report.build else 0,
            "rebuild_cached_seconds": rebuild_s,
            "this_process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    loads.append(os.getloadavg()[0])
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    result["duration_s"] = time.time() - started
    result["loadavg_1min"] = [min(loads), max(loads)]
    result["machine"] = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    args.out.with_suffix(".json").write_text(
        json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    args.out.with_suffix(".md").write_text(report(result), encoding="utf-8")
    print(report(result))
    return 0


def report(r: dict) -> str:
    lines = [
        "# Ingest: answers over PDF-ingested seeds, and the cost of adding a long PDF",
        "",
        f"`{r['command']}` on {r['date']}, {r['machine']}, {r['duration_s'] / 60:.1f} min; "
        f"1-minute load average {r['loadavg_1min'][0]:.2f}–{r['loadavg_1min'][1]:.2f}.",
        "",
        "## The eval sets over the .txt seeds and over the same seeds typeset as PDFs (no reader)",
        "",
    ]
    variants = list(r["sets"])
    for name in next(iter(r["sets"].values())):
        lines += [
            f"### {name}",
            "",
            "| metric | " + " | ".join(variants) + " |",
            "|---" * (len(variants) + 1) + "|",
        ]
        for m in METRICS:
            vals = [r["sets"][v][name].get(m) for v in variants]
            lines.append(f"| {m} | " + " | ".join("–" if x is None else f"{x:.3f}" for x in vals) + " |")
        lines.append("")
    a = r["add"]
    lines += [
        "## Reading a long PDF (child process per file)",
        "",
        "| file | pages | units | read + clean s | ms/page | peak RSS MB | above baseline MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, x in a["reads"].items():
        lines.append(
            f"| {label}-page | {x['pages']} | {x['units']} | {x['seconds']:.2f} | {x['ms_per_page']:.1f} "
            f"| {x['peak_rss_mb']:.0f} | {x['peak_above_baseline_mb']:.0f} |"
        )
    lines += [
        "",
        f"Baseline child (same imports, nothing read): {a['baseline_child_rss_mb']:.0f} MB. "
        f"Cleaning the same text from the .txt path took {a['txt_clean_seconds_same_text']:.2f} s: "
        f"the PDF path costs {a['pdf_over_txt_ratio']:.2f}× the text path for the 60-page paper.",
        "",
        f"`assistant add` of the 60-page PDF into an empty library with empty caches, reading, "
        f"index build and embedding included: {a['add_end_to_end_seconds']:.1f} s, "
        f"{a['add_ms_per_page']:.0f} ms/page ({a['add_chunks_embedded']} of {a['add_chunks']} chunks "
        "embedded: the paper prints one seed six times, so each distinct chunk is embedded once). "
        f"Rebuilding that library afterwards (`assistant index`; document and vectors cached): "
        f"{a['rebuild_cached_seconds']:.1f} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
