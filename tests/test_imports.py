"""The headless core never imports Textual, and light modules never import torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

LIGHT = [
    "assistant.records",
    "assistant.chunking",
    "assistant.embedding",
    "assistant.index",
    "assistant.retrieval",
    "assistant.answer",
    "assistant.engine",
    "assistant.cli",
    "assistant.models",
    "assistant.serialize",
    "assistant.text",
    "assistant.pdfclean",
    "assistant.linewidth",
    "assistant.layout",
    "assistant.segment",
    "assistant.corpus",
    "assistant.batch",
    "assistant.batch_io",
    "assistant.serve_client",
    "assistant.answertype",
    "assistant.vectorstore",
    "assistant.abstain",
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
