"""A small synthetic graph whose TREATS links follow its genes: the tiny fixture of the treats tests and of the
family's `tiny_config` (trains in seconds, no Neo4j)."""

from __future__ import annotations

import numpy as np

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
    treats_set = set(treats)
    contra = [p for p in ((int(rng.integers(n_drugs)), int(rng.integers(n_dis))) for _ in range(12))
              if p not in treats_set]
    return ExportedGraph(
        nodes={"Drug": drugs, "Disease": dis, "Gene": genes, "SideEffect": [f"C{i:07d}" for i in range(40)]},
        edges={("Drug", "TREATS", "Disease"): arr(treats), ("Drug", "PALLIATES", "Disease"): arr(pall),
               ("Drug", "BINDS", "Gene"): arr(binds), ("Disease", "ASSOCIATES", "Gene"): arr(assoc),
               ("Drug", "INTERACTS_WITH", "Drug"): arr(inter), ("Drug", "CAUSES", "SideEffect"): arr(causes),
               ("Drug", "NOT_INDICATED_FOR", "Disease"): arr(contra)},
        build_id="synthetic")
