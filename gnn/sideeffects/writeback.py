"""(:Drug)-[:PREDICTED_CAUSES {probability, model_run}]->(:SideEffect) for the Browser: every earlier
prediction deleted, then this run's confident ones written. No build_id, so graph builds leave them alone;
a pair the graph records as CAUSES is never written (nor is it a candidate when the model saw it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gnn.sideeffects.predictor import SideEffectModel

DELETE = "MATCH ()-[r:PREDICTED_CAUSES]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
WRITE = """
UNWIND $rows AS row
MATCH (d:Drug {id: row.drug}), (s:SideEffect {id: row.se})
WHERE NOT (d)-[:CAUSES]->(s)
CREATE (d)-[:PREDICTED_CAUSES {probability: row.probability, model_run: $run, sources: ['medkg'],
                               licenses: ['CC0 1.0']}]->(s)
"""
COUNT = "MATCH ()-[r:PREDICTED_CAUSES]->() RETURN count(r) AS n, collect(DISTINCT r.model_run) AS runs"


def confident(model: SideEffectModel, threshold: float, per_drug: int, batch: int = 256,
              progress: bool = False) -> list[dict[str, Any]]:
    """Per drug with a basis, its predictions with probability ≥ threshold, best first, at most `per_drug`."""
    from tqdm import tqdm

    rows = np.nonzero(model.has_input | model.profiled)[0]
    out: list[dict[str, Any]] = []
    for i in tqdm(range(0, len(rows), batch), desc="predicted side effects", disable=not progress):
        chunk = rows[i:i + batch]
        p = np.nan_to_num(model.probabilities(chunk), nan=-1.0)
        for j, r in enumerate(chunk.tolist()):
            cols = np.nonzero(p[j] >= threshold)[0]
            cols = cols[np.argsort(-p[j, cols], kind="stable")][:per_drug]
            out += [{"drug": model.drugs[r], "se": model.side_effects[c], "probability": round(float(p[j, c]), 4)}
                    for c in cols.tolist()]
    return out


def write_predictions(model: SideEffectModel, threshold: float = 0.5, per_drug: int = 20,
                      progress: bool = False) -> dict[str, Any]:
    from kg.db import make_driver, read, write
    from kg.settings import get_settings

    rows = confident(model, threshold, per_drug, progress=progress)
    settings = get_settings()
    driver = make_driver(settings)
    try:
        old = read(driver, COUNT)[0]
        with driver.session(database=settings.neo4j_database) as session:  # IN TRANSACTIONS needs auto-commit
            session.run(DELETE).consume()
        for i in range(0, len(rows), 5000):
            write(driver, WRITE, rows=rows[i:i + 5000], run=model.model_run)
        now = read(driver, COUNT)[0]
    finally:
        driver.close()
    return {"deleted": old["n"], "deleted_runs": old["runs"], "written": now["n"], "threshold": threshold,
            "per_drug": per_drug, "model_run": model.model_run}
