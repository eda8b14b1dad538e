"""The headless core never imports Textual, and light modules never import torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

LIGHT = [
    "assistant.settings",
    "assistant.errors",
    "assistant.records",
    "assistant.answer.evidence",
    "assistant.answer.calibrate",
    "assistant.answer.evals",
    "assistant.apps.present",
    "assistant.apps.serve.server",
    "assistant.search.lexical",
    "assistant.ingest.glossary",
    "assistant.ingest.chunking",
    "assistant.index.embedder",
    "assistant.index.store",
    "assistant.search.retrieval",
    "assistant.answer.compose",
    "assistant.engine",
    "assistant.apps.cli",
    "assistant.index.models",
    "assistant.answer.record",
    "assistant.text",
    "assistant.ingest.pdfclean",
    "assistant.ingest.linewidth",
    "assistant.ingest.layout",
    "assistant.ingest.segment",
    "assistant.ingest.corpus",
    "assistant.apps.batch",
    "assistant.apps.batch_io",
    "assistant.apps.serve.client",
    "assistant.answer.answertype",
    "assistant.index.vectorstore",
    "assistant.answer.abstain",
]


@pytest.mark.parametrize("module", LIGHT)
def test_module_does_not_load_heavy_or_ui_libraries(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "heavy = ('textual', 'torch', 'sentence_transformers', 'transformers', 'faiss'); "
        "bad = [m for m in heavy if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{module} imported {out}"
