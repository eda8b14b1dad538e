"""`assistant serve` with the hashing embedder, run as a real background process by the tests.

Usage: python tests/fake_server.py CORPUS INDEX IDLE_SECONDS
"""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.apps.serve.server import run_foreground
from assistant.index.embedder import HashingEmbedder
from assistant.settings import Settings

if __name__ == "__main__":
    corpus, index, idle = sys.argv[1:4]
    settings = Settings.from_env(corpus_dir=Path(corpus), index_dir=Path(index))
    raise SystemExit(run_foreground(settings, HashingEmbedder(64), idle_timeout=float(idle)))
