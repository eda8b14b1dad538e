"""The package's folders are its architecture: imports only point down the pipeline, never in a circle.

foundation (settings, errors, records, text) -> ingest -> index -> search -> answer -> engine -> apps.
Read with ``ast`` from the source files, so a violation fails here before anything runs.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"

LAYERS = {
    "assistant": 0,
    "assistant.settings": 0,
    "assistant.errors": 0,
    "assistant.records": 0,
    "assistant.text": 0,
    "assistant.ingest": 1,
    "assistant.index": 2,
    "assistant.search": 3,
    "assistant.answer": 4,
    "assistant.engine": 5,
    "assistant.curate": 5,
    "assistant.apps": 6,
}


def module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def layer_of(module: str) -> int:
    """The layer of a module: that of its longest listed prefix."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module} is in no layer; add its folder to LAYERS")


def project_imports(source: str, module: str) -> list[tuple[str, int]]:
    """(imported project module, line) for every import statement, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "assistant"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "assistant":
            # "from assistant.index import models" imports the module assistant.index.models
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.append(
                    (
                        sub
                        if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                        or (PACKAGE.parent / sub.replace(".", "/")).is_dir()
                        else node.module,
                        node.lineno,
                    )
                )
    return [(m, line) for m, line in found if m != module]


def import_graph(root: Path = PACKAGE) -> dict[str, list[tuple[str, int]]]:
    return {
        module_name(p): project_imports(p.read_text(encoding="utf-8"), module_name(p))
        for p in sorted(root.rglob("*.py"))
    }


def upward_imports(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    return [
        f"{mod}:{line} imports {target} (layer {layer_of(target)} > {layer_of(mod)})"
        for mod, targets in graph.items()
        for target, line in targets
        if layer_of(target) > layer_of(mod)
    ]


def cycles(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Every import circle among modules (package __init__ files included), found by DFS."""
    edges = {m: sorted({t for t, _ in ts if t in graph}) for m, ts in graph.items()}
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in edges[node]:
            if state.get(nxt) == "open":
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in edges:
        if node not in state:
            visit(node, [node])
    return found


def test_no_module_imports_from_a_layer_above_it() -> None:
    assert upward_imports(import_graph()) == []


def test_no_import_circle() -> None:
    assert cycles(import_graph()) == []


@pytest.mark.parametrize(
    ("lower", "line"),
    [
        ("assistant/index/store.py", "from assistant.apps.cli import main"),
        ("assistant/text.py", "import assistant.engine"),
        ("assistant/answer/compose.py", "from assistant.engine import Engine"),
        ("assistant/ingest/corpus.py", "from assistant.search.retrieval import HybridRetriever"),
    ],
)
def test_the_check_fails_on_an_upward_import(tmp_path: Path, lower: str, line: str) -> None:
    """A copy of the package with one upward import added must be caught."""
    copy = tmp_path / "assistant"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / Path(lower).relative_to("assistant")
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    graph = {
        module_name(p, tmp_path): project_imports(p.read_text(encoding="utf-8"), module_name(p, tmp_path))
        for p in sorted(copy.rglob("*.py"))
    }
    assert upward_imports(graph), f"{line!r} in {lower} was not caught"


def test_the_check_finds_a_circle() -> None:
    graph = {"assistant.a": [("assistant.b", 1)], "assistant.b": [("assistant.a", 3)]}
    assert cycles(graph)


def test_only_settings_reads_the_environment() -> None:
    """Environment variables are read in settings.py and nowhere else (setting them is allowed)."""
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "settings.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            reads = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "getenv", "__getitem__")
                and "environ" in ast.unparse(node.func.value) + ast.unparse(node.func)
            ) or (
                isinstance(node, ast.Subscript)
                and ast.unparse(node.value).endswith("environ")
                and isinstance(node.ctx, ast.Load)
            )
            if reads:
                readers.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert readers == []


def test_the_socket_client_imports_only_settings_errors_and_the_standard_library() -> None:
    code = (
        "import sys, assistant.apps.serve.client; "
        "print(sorted(m for m in sys.modules if m.startswith('assistant'))); "
        "print('numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules, numpy = out.strip().splitlines()
    allowed = {
        "assistant",
        "assistant.apps",
        "assistant.apps.serve",
        "assistant.apps.serve.client",
        "assistant.errors",
        "assistant.settings",
    }
    assert set(ast.literal_eval(modules)) <= allowed
    assert numpy == "False"
