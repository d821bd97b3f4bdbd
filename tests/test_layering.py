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
