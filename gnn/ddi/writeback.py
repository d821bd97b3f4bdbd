"""Predictions to Neo4j for the Browser: PREDICTED_INTERACTS_WITH {type, severity, probability, model_run}
for the ungraded 86-type pairs whose estimated severity reaches the threshold. The previous run's
relationships are deleted first, in batches; curated INTERACTS_WITH facts are never touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

BATCH = 5000
Q_DELETE = """
MATCH ()-[r:PREDICTED_INTERACTS_WITH]->() WITH r LIMIT $batch DELETE r RETURN count(*) AS n
"""
Q_WRITE = """
UNWIND $rows AS row
MATCH (a:Drug {id: row.subject}), (b:Drug {id: row.object})
CREATE (a)-[:PREDICTED_INTERACTS_WITH {type: row.type, severity: row.severity, probability: row.probability,
        type_probability: row.type_probability, model_run: row.model_run, predicted: true,
        note: 'predicted, not from a source'}]->(b)
"""


def write_predictions(folder: Path, p: Any, threshold: float, *, progress: bool = True) -> int:
    """Write one run's predictions (returns how many); the subject is the type sentence's #Drug1."""
    from tqdm import tqdm

    from gnn.ddi.data import SEVERITIES
    from gnn.ddi.runtime import DdiRuntime
    from kg.db import driver_session, write
    from kg.settings import get_settings

    rt = DdiRuntime.load(folder)
    graded = {(a, b) if a < b else (b, a) for a, b in zip(p.ga.tolist(), p.gb.tolist(), strict=True)}
    pt = p.pt
    keep = np.array([((a, b) if a < b else (b, a)) not in graded for a, b in zip(pt.d1.tolist(), pt.d2.tolist(),
                                                                                    strict=True)])
    a, b = pt.d1[keep], pt.d2[keep]
    tp = rt.type_proba(a, b)
    sp = rt.severity_proba(a, b, rt.pair_type_features(a, b, tp))
    labels = rt.severity_label(sp)
    sev_idx = np.array([SEVERITIES.index(s) for s in labels], np.int64)
    sp_top = sp[np.arange(len(a)), sev_idx]
    sel = np.flatnonzero(sp_top >= threshold)
    rows = [{"subject": rt.drugs[int(b[i])], "object": rt.drugs[int(a[i])], "type": int(pt.y[keep][i]) + 1,
             "severity": labels[i], "probability": round(float(sp_top[i]), 4),
             "type_probability": round(float(tp[i, pt.y[keep][i]]), 4), "model_run": rt.model_run} for i in sel]
    db = get_settings().neo4j_database
    with driver_session() as driver:
        while write(driver, Q_DELETE, db, batch=BATCH)[0]["n"]:
            pass
        for s in tqdm(range(0, len(rows), BATCH), desc="write-back", disable=not progress, leave=False):
            write(driver, Q_WRITE, db, rows=rows[s:s + BATCH])
    return len(rows)
