"""The package's shape: lower parts never import higher ones, and no module
imports itself back through others.

The order is the flow of the data (README, "Layout"): the book's notation,
the functions a network is made of, the layers, the engine that derives the
routes, the compiled numbers, the proofs, the documents, chapter 2, the
measurements and the command line. Every import counts, including the ones
inside functions: a lazy import hides a circle, it does not remove it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symbackprop"

# Lowest first. Top-level modules other than these two sit at the top.
ORDER = [
    "errors",
    "files",
    "guards",
    "notation",
    "functions",
    "layers",
    "engine",
    "numeric",
    "proof",
    "documents",
    "calculus",
    "measure",
    "cli",
]
TOP = {"__init__", "__main__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of the package that ``path`` imports, resolved to module names."""
    name = _module_name(path)
    package = name.split(".") if _is_package(path) else name.split(".")[:-1]
    if name == "__init__":
        package = []
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
            elif node.module and node.module.split(".")[0] == "symbackprop":
                base, node_module = [], node.module.split(".", 1)[1] if "." in node.module else ""
                targets = [".".join(filter(None, [node_module, a.name])) for a in node.names]
                found |= {t if t in modules else node_module for t in targets if node_module or t in modules}
                continue
            else:
                continue
            stem = ".".join([*base, *(node.module.split(".") if node.module else [])])
            for alias in node.names:
                full = f"{stem}.{alias.name}" if stem else alias.name
                found.add(full if full in modules else stem)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("symbackprop."):
                    found.add(alias.name.split(".", 1)[1])
    return {m for m in found if m and m != name}


def _graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


def _rank(module: str) -> int:
    head = module.split(".")[0]
    return len(ORDER) if head in TOP else ORDER.index(head)


GRAPH = _graph()


def test_every_module_belongs_to_a_known_part():
    unknown = [m for m in GRAPH if m.split(".")[0] not in ORDER and m not in TOP]
    assert not unknown, f"modules outside the layout: {unknown}; add their part to ORDER and the README"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_lower_part_imports_a_higher_one(module):
    upward = sorted(t for t in GRAPH[module] if _rank(t) > _rank(module))
    assert not upward, f"{module} (part {module.split('.')[0]}) imports higher parts: {upward}"


def test_no_import_circle():
    # Tarjan's strongly connected components over the module graph; a
    # package's __init__ only re-exports, so edges into a package count.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not circles, f"modules that import each other: {circles}"


def test_the_checker_sees_a_planted_upward_import_and_circle(tmp_path):
    # The checks above must be able to fail: plant both faults in a copy.
    global PACKAGE
    saved = PACKAGE
    try:
        root = tmp_path / "symbackprop"
        (root / "engine").mkdir(parents=True)
        (root / "documents").mkdir()
        (root / "__init__.py").write_text("")
        (root / "engine" / "__init__.py").write_text("")
        (root / "documents" / "__init__.py").write_text("")
        (root / "engine" / "a.py").write_text("def f():\n    from ..documents.b import g\n")
        (root / "documents" / "b.py").write_text("from ..engine import a\n")
        PACKAGE = root
        graph = _graph()
    finally:
        PACKAGE = saved
    assert graph["engine.a"] == {"documents.b"}
    assert graph["documents.b"] == {"engine.a"}
    assert _rank("documents.b") > _rank("engine.a")
