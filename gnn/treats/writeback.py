"""Write confident predictions back to Neo4j as (:Drug)-[:PREDICTED_TREATS {score, probability, model_run}]->
(:Disease), replacing those of earlier runs. They carry no build_id, so a graph build leaves them alone."""

from __future__ import annotations

import numpy as np
from neo4j import Driver

from gnn.pipeline.calibration import apply_platt
from gnn.treats import queries as Q
from gnn.treats.artifacts import TreatsRun
from kg.db import read, write
from kg.settings import get_settings


def confident_pairs(run: TreatsRun, threshold: float, limit: int) -> list[dict]:
    """Unknown candidate pairs with calibrated probability ≥ threshold, best first, at most `limit`."""
    a, b = run.config["calibration"]["a"], run.config["calibration"]["b"]
    logits = run.scorer.matrix(run.cand_dis, run.cand_drugs)
    prob = apply_platt(logits, a, b)
    n_dis = len(run.index["nodes"]["Disease"])
    # known indications and contraindications (NOT_INDICATED_FOR) are sourced facts: never predictions
    known = set((run.known[0].astype(np.int64) * n_dis + run.known[1]).tolist())
    known |= set((run.contra[0].astype(np.int64) * n_dis + run.contra[1]).tolist())
    rows, cols = np.nonzero(prob >= threshold)
    drugs, dis = run.index["nodes"]["Drug"], run.index["nodes"]["Disease"]
    out = []
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        d, x = int(run.cand_drugs[c]), int(run.cand_dis[r])
        if d * n_dis + x in known:
            continue
        out.append({"drug": drugs[d], "disease": dis[x], "score": float(logits[r, c]),
                    "probability": float(prob[r, c])})
    out.sort(key=lambda e: -e["score"])
    return out[:limit]


def write_predictions(driver: Driver, run: TreatsRun, threshold: float = 0.01, limit: int = 5000) -> dict:
    """Delete every PREDICTED_TREATS, then write this run's confident predictions."""
    old = read(driver, Q.COUNT_PREDICTED)[0]
    # CALL { } IN TRANSACTIONS needs an auto-commit transaction, hence session.run
    with driver.session(database=get_settings().neo4j_database) as session:
        session.run(Q.DELETE_PREDICTED).consume()
    rows = confident_pairs(run, threshold, limit)
    for i in range(0, len(rows), 2000):
        write(driver, Q.WRITE_PREDICTED, rows=rows[i:i + 2000], run=run.model_run)
    now = read(driver, Q.COUNT_PREDICTED)[0]
    return {"deleted": old["n"], "deleted_runs": old["runs"], "written": now["n"], "threshold": threshold,
            "model_run": run.model_run}
