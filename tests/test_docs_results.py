"""Figures in README.md and docs/ are generated from the committed results files, and agree with them."""

from __future__ import annotations

import json

import pytest

from gnn.pipeline.results import RESULTS_DIR, doc_paths, render_markdown
from kg.settings import REPO_ROOT


@pytest.mark.parametrize("path", doc_paths(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_tables_match_their_results_files(path) -> None:
    text = path.read_text()
    assert render_markdown(text, RESULTS_DIR) == text, (
        f"{path.relative_to(REPO_ROOT)} disagrees with docs/results/: run `medkg docs tables`")


@pytest.mark.parametrize("path", sorted(RESULTS_DIR.glob("*.json")), ids=lambda p: p.name)
def test_results_files_are_complete(path) -> None:
    doc = json.loads(path.read_text())
    assert doc["name"] == path.stem
    assert doc["seeds"] and doc["command"].startswith("medkg ") and doc["git_sha"]
    assert doc["primary"] in doc["models"]
    assert len(doc["models"]) >= 2, "a model is reported beside a baseline measured in the same run"
    for model, metrics in doc["models"].items():
        for name, cell in metrics.items():
            assert len(cell["per_seed"]) >= 1, (model, name)
            assert cell["mean"] == pytest.approx(sum(cell["per_seed"]) / len(cell["per_seed"])), (model, name)


def test_every_results_file_is_cited() -> None:
    cited = "\n".join(p.read_text() for p in doc_paths())
    uncited = [p.stem for p in RESULTS_DIR.glob("*.json") if f"results:{p.stem}" not in cited
               and f"value:{p.stem}:" not in cited]
    assert not uncited, f"results files no page shows: {uncited}"
