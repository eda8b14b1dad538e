"""Cleaned documents are cached by cleaning code, source bytes and sidecar bytes."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.index.doccache import DocumentCache
from assistant.ingest.corpus import load_document
from tests.conftest import META, TEXT


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    source, side = tmp_path / "demo-2020.txt", tmp_path / "demo-2020.toml"
    source.write_text(TEXT, encoding="utf-8")
    side.write_text(META, encoding="utf-8")
    return source, side


def test_a_document_is_read_once_and_then_comes_from_the_cache(tmp_path):
    source, side = _pair(tmp_path)
    cache = DocumentCache(tmp_path / "cache")
    first = cache.load(source, side)
    assert first == load_document(source, side)
    (entry,) = (tmp_path / "cache").glob("*.json")
    data = json.loads(entry.read_text(encoding="utf-8"))
    data["paragraphs"][0]["text"] = "FROM THE CACHE"
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert cache.load(source, side).paragraphs[0].text == "FROM THE CACHE"


def test_an_edited_sidecar_or_source_is_read_again(tmp_path):
    source, side = _pair(tmp_path)
    cache = DocumentCache(tmp_path / "cache")
    cache.load(source, side)
    side.write_text(META.replace("边境后措施研究", "边境后措施新论"), encoding="utf-8")
    assert cache.load(source, side).meta.title == "边境后措施新论"
    source.write_text(TEXT.replace("消除歧视性的贸易壁垒", "消除贸易壁垒"), encoding="utf-8")
    assert "消除贸易壁垒" in " ".join(p.text for p in cache.load(source, side).paragraphs)
    assert len(list((tmp_path / "cache").glob("*.json"))) == 3


def test_a_damaged_entry_is_read_again(tmp_path):
    source, side = _pair(tmp_path)
    cache = DocumentCache(tmp_path / "cache")
    cache.load(source, side)
    (entry,) = (tmp_path / "cache").glob("*.json")
    entry.write_text("{not json", encoding="utf-8")
    assert cache.load(source, side) == load_document(source, side)
