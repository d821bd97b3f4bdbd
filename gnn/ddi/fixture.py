"""A tiny synthetic ddi data set for the meta-tests: 40 drugs, a few hundred pairs whose type follows the
drugs' (synthetic) target groups, graph facts with tokens and DDInter-like grades."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_fixture(workdir: Path, n_drugs: int = 40, n_pairs: int = 400, seed: int = 0,
                  drugs: list[str] | None = None) -> tuple[Path, Path]:
    """Synthetic files under workdir (ids DB90001... unless `drugs` names them): (data dir, graph facts)."""
    rng = np.random.default_rng(seed)
    drugs = list(drugs) if drugs else [f"DB9{i:04d}" for i in range(1, n_drugs + 1)]
    n_drugs = len(drugs)
    group = rng.integers(0, 4, n_drugs)
    data = Path(workdir) / "data"
    (data / "drugbank-ddi-86").mkdir(parents=True, exist_ok=True)
    lines = ["Interaction type,Description,Subject,DDI type"]
    lines += [f"{t},#Drug1 may change the effect {t} of #Drug2.,1,DDI type {t}" for t in range(1, 87)]
    (data / "drugbank-ddi-86" / "id2rel.txt").write_text("\n".join(lines) + "\n")
    seen, rows = set(), ["drug1\tdrug2\tLabel"]
    while len(rows) <= n_pairs:
        a, b = rng.integers(0, n_drugs, 2)
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        rows.append(f"{drugs[a]}\t{drugs[b]}\t{1 + 4 * group[a] + group[b]}")
    (data / "drugbank-ddi-86" / "ddi.tsv").write_text("\n".join(rows) + "\n")
    tokens = {d: [f"gene:{group[i]}", f"atc1:{'ABC'[i % 3]}", f"se:{i % 5}"] for i, d in enumerate(drugs)}
    grades = []
    for a in range(n_drugs):
        for b in range(a + 1, n_drugs):
            if rng.random() < 0.25:
                level = "Major" if group[a] == group[b] else ("Minor" if rng.random() < 0.2 else "Moderate")
                grades.append([drugs[a], drugs[b], level])
    facts = Path(workdir) / "graph-facts.json"
    facts.write_text(json.dumps({"tokens": tokens, "grades": grades, "names": {d: d for d in drugs},
                                 "build_id": "fixture"}))
    return data, facts
