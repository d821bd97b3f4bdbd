"""Small graphs and runs for the treats tests: a synthetic graph whose TREATS links follow its genes, and a
hand-made run folder over real graph ids (for safety tests without training)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gnn.pipeline.store import MANIFEST, RunManifest
from gnn.treats.artifacts import ARTIFACT_FORMAT, INDEX, SCORER, save_candidates, store
from gnn.treats.scorer import EmbeddingScorer
from gnn.treats.synthetic import synthetic_graph  # noqa: F401  (the tests import it from here)


def write_fake_run(root: Path, drug_ids: list[str], disease_ids: list[str], scores: np.ndarray,
                   known: list[tuple[int, int]] = (), contra: list[tuple[int, int]] = (),
                   scorer: str = "gnn") -> Path:
    """A run folder whose scorer gives `scores[disease, drug]` exactly (one-hot embeddings, no degree terms)."""
    n_dis, n_drug = scores.shape
    folder = root / "treats" / "fake-run"
    folder.mkdir(parents=True, exist_ok=True)
    EmbeddingScorer(drug=np.eye(n_drug, dtype=np.float32), disease=scores.astype(np.float32),
                    deg_drug=np.zeros(n_drug), deg_dis=np.zeros(n_dis), rel=np.ones(n_drug, dtype=np.float32),
                    deg_w=np.zeros(2), bias=0.0).save(folder / SCORER)
    (folder / INDEX).write_text(json.dumps({"build_id": "fake", "nodes": {"Drug": drug_ids, "Disease": disease_ids}}))
    known_arr = np.array(known, dtype=np.int64).T.reshape(2, -1)
    contra_arr = np.array(contra, dtype=np.int64).T.reshape(2, -1)
    save_candidates(folder, np.arange(n_drug), np.arange(n_dis), known_arr, contra_arr)
    man = RunManifest(family="treats", model_run="fake-run", artifact_format=ARTIFACT_FORMAT, seed=0,
                      config={"calibration": {"a": 1.0, "b": 0.0}, "names": {}, "scorer": scorer}, build_id="fake")
    (folder / MANIFEST).write_text(json.dumps(man.to_dict()))
    store(root).mark_latest(folder.name)
    return folder
