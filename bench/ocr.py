"""OCR of scanned PDFs measured: the seed papers typeset, rendered, rebuilt as image-only PDFs, read back.

    python bench/ocr.py                       # all pages of the three seeds, 200 and 300 dpi
    python bench/ocr.py --pages 2 --dpi 300   # a quick look

For each seed paper: ``tests/pdfmaker.py`` typesets it (one column, STSong-Light, as the PDF tests
do); pypdfium2 renders each page at the given resolution; reportlab rebuilds the page images into
an image-only PDF (a "scan", no text layer); :func:`read_scanned_pdf` renders and recognises that
PDF again, turns the text boxes into the PDF reader's lines (box height for font size) and the
PDF reader's layout analysis and the cleaner run on them, as an ``assistant add --ocr`` would.

Measured against what the typesetter placed (the text layer of the typeset PDF, read by the PDF
reader, lines in the same top-to-bottom order): character error rate (edit distance / reference
length, whitespace removed) for Chinese characters, for Latin letters and digits, and for the rest
(punctuation), each compared within its own class; seconds a page (rendering and OCR); peak memory;
the body paragraphs identical (whitespace removed) to the ``.txt`` path's, and whether those carry
the pages they were printed on. A Chinese font must be installed for pdfium to render the
non-embedded STSong-Light (a real scan carries its own pixels): see the report.

Writes ``bench/ocr-report.json``; the Markdown report is written by hand from it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from assistant.ingest.corpus import load_corpus
from assistant.ingest.formats.pdf import analyse
from assistant.ingest.formats.pdfchars import PdfLine, PdfPage, read_pages
from assistant.ingest.segment import clean_document
from assistant.ingest.source import SourceText
from assistant.records import Document
from tests.pdfmaker import Style, make_pdf

ROOT = Path(__file__).resolve().parent.parent
EXTRA = ("rapidocr-onnxruntime", "onnxruntime", "opencv-python", "shapely", "pyclipper", "protobuf")
EXTRA += ("flatbuffers", "six")
OCR_REQUIREMENT = "rapidocr-onnxruntime==1.4.4"
# a box's height over the font size it was printed in (measured on the seed pages: 10.5 pt body
# text gives 12-12.3 pt boxes); only ratios between sizes matter to the layout analysis
_BOX_PER_POINT = 1.16
# heights within this ratio of each other are one face: box heights wobble by about 5 %
_SAME_FACE = 1.08


def render_pages(path: Path, dpi: int) -> Iterator[tuple[Any, float, float]]:
    """Each page of ``path`` as (BGR image array, width, height in points), one page at a time."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(path))
    try:
        for k in range(len(pdf)):
            page = pdf[k]
            try:
                width, height = page.get_size()
                bitmap = page.render(scale=dpi / 72)
                yield bitmap.to_numpy().copy(), float(width), float(height)
                bitmap.close()
            finally:
                page.close()
    finally:
        pdf.close()


def _join(texts: Sequence[str]) -> str:
    out = ""
    for text in texts:
        text = text.strip()
        if out and text and (out[-1].isascii() or text[0].isascii()):
            out += " "  # a word gap; between Chinese characters a gap is no space
        out += text
    return out


def page_lines(result: Sequence[Any] | None, number: int, height: float, dpi: int) -> list[PdfLine]:
    """The OCR boxes of one page as lines in PDF points (y upwards), boxes on one row of one column
    joined; ``size`` is still the raw box height here (see :func:`_faces`)."""
    scale = dpi / 72
    boxes = []
    for box, text, _score in result or ():
        if not str(text).strip():
            continue
        xs, ys = [p[0] / scale for p in box], [p[1] / scale for p in box]
        boxes.append([min(xs), max(xs), min(ys), max(ys), str(text)])
    boxes.sort(key=lambda b: (b[2] + b[3], b[0]))
    rows: list[list[list]] = []
    for b in boxes:
        h = b[3] - b[2]
        for row in rows:
            last = row[-1]
            overlap = min(b[3], last[3]) - max(b[2], last[2])
            # the same printed line: rows overlap mostly and the gap is a word's, not a gutter's
            if overlap > 0.5 * min(h, last[3] - last[2]) and 0 <= b[0] - last[1] < 1.0 * h:
                row.append(b)
                break
        else:
            rows.append([b])
    lines = []
    for row in rows:
        row.sort(key=lambda b: b[0])
        top, bottom = min(b[2] for b in row), max(b[3] for b in row)
        size = statistics.median(b[3] - b[2] for b in row)
        lines.append(
            PdfLine(
                _join([b[4] for b in row]),
                number,
                row[0][0],
                row[-1][1],
                height - top,
                height - bottom,
                size,
                False,
            )
        )
    return lines


def _faces(pages: Sequence[PdfPage]) -> list[PdfPage]:
    """The pages with box heights turned into font sizes, one size per group of similar heights."""
    heights = sorted({ln.size for p in pages for ln in p.lines})
    groups: list[list[float]] = []
    for h in heights:
        if groups and h <= groups[-1][0] * _SAME_FACE:
            groups[-1].append(h)
        else:
            groups.append([h])
    size_of = {}
    for group in groups:
        size = round(statistics.median(group) / _BOX_PER_POINT * 2) / 2
        size_of.update(dict.fromkeys(group, size))
    out = []
    for p in pages:
        lines = tuple(
            PdfLine(ln.text, ln.page, ln.x0, ln.x1, ln.top, ln.bottom, size_of[ln.size], False)
            for ln in p.lines
        )
        out.append(PdfPage(p.number, p.width, p.height, lines))
    return out


def ocr_pages(path: Path, engine, dpi: int) -> list[PdfPage]:
    """Every page of ``path`` recognised by ``engine``, as pages of lines with font sizes."""
    pages = []
    for k, (image, width, height) in enumerate(render_pages(path, dpi), 1):
        result, _ = engine(image)
        pages.append(PdfPage(k, width, height, tuple(page_lines(result, k, height, dpi))))
    return _faces(pages)


def read_scanned_pdf(path: Path, engine, dpi: int) -> SourceText:
    """A scanned PDF read by OCR into the hinted lines the PDF reader gives for a text layer: the
    boxes as :class:`PdfLine` objects, then the same layout analysis (:func:`analyse`)."""
    lines, _info = analyse(ocr_pages(path, engine, dpi))
    return SourceText(tuple(lines), len({ln.page for ln in lines}), {}, "pdf")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), one row at a time."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _kind(ch: str) -> str:
    if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf":
        return "han"
    if ch.isascii() and ch.isalnum():
        return "latin"
    return "punct"


def split_kinds(text: str) -> dict[str, str]:
    """``text`` without whitespace, as its Chinese, Latin/digit and other characters."""
    out = {"han": "", "latin": "", "punct": ""}
    for ch in "".join(text.split()):
        out[_kind(ch)] += ch
    return out


def page_texts(lines) -> dict[int, str]:
    """Page number -> the page's lines top to bottom (the order OCR gives them)."""
    by_page: dict[int, list] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    return {
        k: "\n".join(ln.text for ln in sorted(v, key=lambda ln: (-round(ln.bottom), ln.x0)))
        for k, v in by_page.items()
    }


def make_scan(pdf: Path, scan: Path, dpi: int, pages: int) -> int:
    """An image-only copy of the first ``pages`` pages of ``pdf`` at ``dpi`` (grey, lossless)."""
    from PIL import Image

    c = canvas.Canvas(str(scan))
    n = 0
    for image, width, height in render_pages(pdf, dpi):
        if n == pages:
            break
        grey = Image.fromarray(image[:, :, ::-1]).convert("L")
        buf = io.BytesIO()
        grey.save(buf, format="PNG")
        c.setPageSize((width, height))
        c.drawImage(ImageReader(io.BytesIO(buf.getvalue())), 0, 0, width, height)
        c.showPage()
        n += 1
    c.save()
    return n


class TimedEngine:
    """The real engine, timed per page (rendering is timed by the caller's clock)."""

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self.engine = RapidOCR()
        self.calls = 0

    def __call__(self, image):
        self.calls += 1
        return self.engine(image)


def measure(doc: Document, dpi: int, pages: int, engine: TimedEngine, tmp: Path) -> dict:
    """One seed at one resolution: CER per class, speed, paragraphs and their pages."""
    typeset = tmp / f"{doc.doc_id}.pdf"
    placed = make_pdf(doc, typeset, Style())
    scan = tmp / f"{doc.doc_id}-{dpi}-scan.pdf"
    n = make_scan(typeset, scan, dpi, pages)
    truth = page_texts(ln for p in read_pages(typeset) for ln in p.lines if p.number <= n)
    start = time.perf_counter()
    source = read_scanned_pdf(scan, engine, dpi)
    seconds = time.perf_counter() - start
    ocr_pages = page_texts(_PagedLine.of(source.lines))
    errors = {k: 0 for k in ("han", "latin", "punct", "all")}
    lengths = dict.fromkeys(errors, 0)
    for k, ref in truth.items():
        hyp = ocr_pages.get(k, "")
        want, got = split_kinds(ref), split_kinds(hyp)
        want["all"], got["all"] = "".join(ref.split()), "".join(hyp.split())
        for kind in errors:
            errors[kind] += edit_distance(want[kind], got[kind])
            lengths[kind] += len(want[kind])
    result: dict = {
        "doc_id": doc.doc_id,
        "dpi": dpi,
        "pages": n,
        "seconds_per_page": round(seconds / n, 2),
        "cer": {k: round(errors[k] / max(lengths[k], 1), 4) for k in errors},
        "chars": lengths,
    }
    if n == placed.page_count:  # paragraphs only for whole papers
        result |= paragraphs(doc, source, placed)
    return result


class _PagedLine:
    """A SourceLine with the fake geometry :func:`page_texts` sorts by (it is in reading order)."""

    def __init__(self, text: str, page: int, k: int) -> None:
        self.text, self.page, self.bottom, self.x0 = text, page, -k, 0.0

    @classmethod
    def of(cls, lines) -> list[_PagedLine]:
        return [cls(ln.text, ln.page or 0, k) for k, ln in enumerate(lines)]


def paragraphs(doc: Document, source, placed) -> dict:
    """Body paragraphs identical to the .txt path's (whitespace removed), and their pages."""
    norm = lambda t: "".join(t.split())  # noqa: E731
    got = {norm(p.text): p for p in clean_document(source, doc.meta, ()) if p.kind == "body"}
    want = [p for p in doc.paragraphs if p.kind == "body"]
    same = [p for p in want if norm(p.text) in got]
    printed = {norm(k): v for k, v in placed.pages.items()}
    right = [
        p for p in same if (got[norm(p.text)].page_start, got[norm(p.text)].page_end) == printed[norm(p.text)]
    ]
    near = 0
    for p in want:
        ref = norm(p.text)
        best = min(
            (edit_distance(ref, g) for g in got if abs(len(g) - len(ref)) < 0.1 * len(ref) + 5),
            default=len(ref),
        )
        near += best <= 0.02 * len(ref)
    return {
        "body_paragraphs": len(want),
        "paragraphs_out": len(got),
        "identical": len(same),
        "within_2pct": near,
        "identical_with_right_pages": len(right),
    }


def install_size() -> dict[str, float]:
    """MB on disk of each distribution the extra installs."""
    out = {}
    for name in EXTRA:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        total = sum(f.locate().stat().st_size for f in dist.files or () if f.locate().exists())
        out[name] = round(total / 1e6, 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dpi", type=int, nargs="+", default=[200, 300])
    ap.add_argument("--pages", type=int, default=10**6, help="first N pages of each seed")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "ocr-report.json")
    args = ap.parse_args()
    docs = load_corpus(ROOT / "corpus")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    engine = TimedEngine()
    load = time.perf_counter() - t
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dpi in args.dpi:
            for doc in docs:
                rows.append(measure(doc, dpi, args.pages, engine, Path(tmp)))
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    report = {
        "command": " ".join(["python", "bench/ocr.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "requirement": OCR_REQUIREMENT,
        "engine_load_seconds": round(load, 2),
        "peak_rss_mb_before_engine": round(rss0 / 1024),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "install_mb": install_size(),
        "rows": rows,
    }
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
