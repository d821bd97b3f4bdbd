"""Imports flow one way: kg <- gnn <- api; kg needs no torch."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"kg": {"gnn", "api", "torch", "torch_geometric", "transformers", "fastapi"}, "gnn": {"api"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_imports_flow_one_way() -> None:
    offences = []
    for pkg, banned in FORBIDDEN.items():
        files = sorted((ROOT / pkg).rglob("*.py"))
        assert files, f"package {pkg} has no modules"
        for f in files:
            bad = _imports(f) & banned
            if bad:
                offences.append(f"{f.relative_to(ROOT)} imports {sorted(bad)}")
    assert offences == []


def _module_imports(path: Path) -> set[str]:
    """Full dotted names of the modules a file imports (top-level or inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle once, as the list of modules around it."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_cycle_finder() -> None:
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b", "a"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []


def test_no_import_cycles_in_kg() -> None:
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in sorted((ROOT / "kg").rglob("*.py"))}
    graph = {m: {i for i in _module_imports(p) if i in modules and i != m} for m, p in modules.items()}
    # a package's __init__ re-exporting its modules is not a cycle of the modules themselves
    graph = {m: {i for i in deps if not m.startswith(i + ".")} for m, deps in graph.items()}
    assert _cycles(graph) == []
