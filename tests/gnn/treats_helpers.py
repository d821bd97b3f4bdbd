"""Small graphs and runs for the treats tests: a synthetic graph whose TREATS links follow its genes, and a
hand-made run folder over real graph ids (for safety tests without training)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gnn.treats.artifacts import ARTIFACT_FORMAT, CONFIG, INDEX, SCORER, mark_latest, save_candidates
from gnn.treats.scorer import EmbeddingScorer
from kg.export import ExportedGraph


def synthetic_graph(seed: int = 0, n_drugs: int = 120, n_dis: int = 24, n_genes: int = 60) -> ExportedGraph:
    """Drugs bind genes; diseases associate with genes; a drug treats a disease when they share genes."""
    rng = np.random.default_rng(seed)
    drugs = [f"DB{i:05d}" for i in range(n_drugs)] + ["DDInter1", "DDInter2"]
    dis = [f"DOID:{i}" for i in range(n_dis)]
    genes = [str(i) for i in range(n_genes)]
    binds = {(d, g) for d in range(len(drugs)) for g in rng.choice(n_genes, 3, replace=False)}
    assoc = {(x, g) for x in range(n_dis) for g in rng.choice(n_genes, 4, replace=False)}
    drug_genes = {d: {g for dd, g in binds if dd == d} for d in range(n_drugs)}
    dis_genes = {x: {g for xx, g in assoc if xx == x} for x in range(n_dis)}
    treats = sorted((d, x) for d in range(n_drugs) for x in range(n_dis) if len(drug_genes[d] & dis_genes[x]) >= 2)
    if len(treats) < 40:  # make sure there is something to learn
        treats += [(d, x) for d in range(n_drugs) for x in range(n_dis) if drug_genes[d] & dis_genes[x]][:80]
    pall = [(int(rng.integers(n_drugs)), int(rng.integers(n_dis))) for _ in range(15)]

    def arr(pairs) -> np.ndarray:
        return np.array(sorted(set(pairs)), dtype=np.int64).T.reshape(2, -1)

    inter = {(int(a), int(b)) for a, b in rng.integers(0, len(drugs), (400, 2)) if a != b}
    causes = {(d, int(s)) for d in range(n_drugs) for s in rng.choice(40, 4, replace=False)}
    return ExportedGraph(
        nodes={"Drug": drugs, "Disease": dis, "Gene": genes, "SideEffect": [f"C{i:07d}" for i in range(40)]},
        edges={("Drug", "TREATS", "Disease"): arr(treats), ("Drug", "PALLIATES", "Disease"): arr(pall),
               ("Drug", "BINDS", "Gene"): arr(binds), ("Disease", "ASSOCIATES", "Gene"): arr(assoc),
               ("Drug", "INTERACTS_WITH", "Drug"): arr(inter), ("Drug", "CAUSES", "SideEffect"): arr(causes)},
        build_id="synthetic")


def write_fake_run(root: Path, drug_ids: list[str], disease_ids: list[str], scores: np.ndarray,
                   known: list[tuple[int, int]] = ()) -> Path:
    """A run folder whose scorer gives `scores[disease, drug]` exactly (one-hot embeddings, no degree terms)."""
    n_dis, n_drug = scores.shape
    folder = root / "treats" / "fake-run"
    folder.mkdir(parents=True, exist_ok=True)
    EmbeddingScorer(drug=np.eye(n_drug, dtype=np.float32), disease=scores.astype(np.float32),
                    deg_drug=np.zeros(n_drug), deg_dis=np.zeros(n_dis), rel=np.ones(n_drug, dtype=np.float32),
                    deg_w=np.zeros(2), bias=0.0).save(folder / SCORER)
    (folder / INDEX).write_text(json.dumps({"build_id": "fake", "nodes": {"Drug": drug_ids, "Disease": disease_ids}}))
    known_arr = np.array(known, dtype=np.int64).T.reshape(2, -1)
    save_candidates(folder, np.arange(n_drug), np.arange(n_dis), known_arr)
    (folder / CONFIG).write_text(json.dumps({"model_run": "fake-run", "artifact_format": ARTIFACT_FORMAT,
                                             "calibration": {"a": 1.0, "b": 0.0}, "names": {}}))
    mark_latest(folder)
    return folder
