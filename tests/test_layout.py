"""The layout's rules, checked on the source: no import cycles in core, leaf model builders, no Streamlit in core, no 'seed 00x'.

Imports are read with ``ast`` from every module under ``core/``, at module level and inside
functions alike (a lazy import is still a dependency), so a cycle hidden behind a function-level
import is found too. Only imports of DL Lab's own modules count.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT

CORE = ROOT / "core"
# Builders may use the homework networks, the generic builder and the calculator's layer kinds
# (whose Keras equivalents build every homework layer), and nothing of the engine or the pages.
MODEL_DEPENDENCIES = ("core.models", "core.homework", "core.calculator")
# What a write-up used to be called in text students read; "seed" now means a random seed only.
# Old link keys such as ``seed002_cnn`` stay as aliases (never shown), so only words count.
WRITE_UP_AS_SEED = re.compile(r"\bseeds?\s+0\d\d|\bseed-0\d\d|\bthe seed'?s?\b(?!\s*=)|\bseed's\b", re.IGNORECASE)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _core_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(CORE.rglob("*.py"))}


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The DL Lab modules ``module`` imports anywhere in its source (``from a import b`` counts ``a.b`` when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known and name != module}


def _graph() -> dict[str, set[str]]:
    modules = _core_modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each a cycle or a knot of them."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_walker_sees_imports_inside_functions_and_finds_a_planted_cycle(tmp_path: Path) -> None:
    graph = _graph()
    assert "core.datasets.base" in graph["core.datasets.images"]  # a module-level import
    assert "core.training.fit" in graph["core.training.executor"]  # imported inside functions only
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_core_has_no_import_cycle() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles in core/: " + "; ".join(" ↔ ".join(cycle) for cycle in cycles)


def test_model_builders_are_leaves() -> None:
    graph = _graph()
    for module, imported in graph.items():
        if module.startswith("core.models"):
            outside = sorted(name for name in imported if not name.startswith(MODEL_DEPENDENCIES))
            assert not outside, f"{module} imports {outside}: builders import no engine and no topic logic"


def _python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))
    yield ROOT / "app.py"


def test_core_never_imports_streamlit() -> None:
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.split(".")[0] == "streamlit" for name in names), f"{path} imports Streamlit"


def _text_students_read(path: Path) -> Iterator[tuple[int, str]]:
    """Every string literal in a file (page text, labels, messages, docstrings), with its line."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


@pytest.mark.parametrize("folder", ["core", "ui", "app_pages"])
def test_no_homework_is_called_a_seed(folder: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:80]!r}"
        for path in _python_files(folder)
        if path.is_relative_to(ROOT / folder)
        for line, text in _text_students_read(path)
        if WRITE_UP_AS_SEED.search(text)
    ]
    assert not found, "write-ups called 'seed' (name them by course and assignment, core.homework):\n" + "\n".join(found)


def test_pages_draw_charts_through_the_render_memo() -> None:
    # st.altair_chart rebuilds and revalidates a chart on every rerun of every student; under a
    # class's load that was most of the server's time (see ui/render_memo.py).
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("ui", "app_pages")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if ".altair_chart(" in line and not line.lstrip().startswith("#")
    ]
    assert not offenders, f"draw these with st.vega_lite_chart(chart_spec(...)): {offenders}"
