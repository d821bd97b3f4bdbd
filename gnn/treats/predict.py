"""`medkg predict treats`: one row per candidate (drug, disease) pair without a sourced fact about it: not a known
TREATS edge and not a NOT_INDICATED_FOR pair (a contraindication is never turned into a prediction)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from gnn.treats.artifacts import TreatsRun


def known_mask(run: TreatsRun, dis_row: int) -> np.ndarray:
    """Boolean over candidate drugs: True where (drug, disease) is a known TREATS edge."""
    known_drugs = run.known[0][run.known[1] == dis_row]
    return np.isin(run.cand_drugs, known_drugs)


def contra_mask(run: TreatsRun, dis_row: int) -> np.ndarray:
    """Boolean over candidate drugs: True where the drug is NOT_INDICATED_FOR the disease."""
    return np.isin(run.cand_drugs, run.contra[0][run.contra[1] == dis_row])


def write_predictions(run: TreatsRun, output: Path, progress: bool = True) -> dict:
    """Write `drug_id<TAB>disease_id<TAB>score`, score = the calibrated probability (7 significant digits in
    scientific notation, so the ranking of the logits is kept)."""
    drug_ids = np.asarray(run.index["nodes"]["Drug"], dtype=object)[run.cand_drugs]
    dis_ids = run.index["nodes"]["Disease"]
    a, b = run.config["calibration"]["a"], run.config["calibration"]["b"]
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = contra = 0
    with output.open("w") as f:
        f.write("drug_id\tdisease_id\tscore\n")
        for x in tqdm(run.cand_dis.tolist(), desc="predict treats", disable=not progress, leave=False):
            logits = run.scorer.matrix(np.array([x]), run.cand_drugs)[0]
            prob = 1.0 / (1.0 + np.exp(-(a * logits.astype(np.float64) + b)))
            keep = ~known_mask(run, x) & ~contra_mask(run, x)
            for d, p in zip(drug_ids[keep], prob[keep], strict=True):
                f.write(f"{d}\t{dis_ids[x]}\t{p:.6e}\n")
            rows += int(keep.sum())
            contra += int((contra_mask(run, x) & ~known_mask(run, x)).sum())
    return {"output": str(output), "rows": rows, "drugs": len(run.cand_drugs), "diseases": len(run.cand_dis),
            "known_excluded": len(run.cand_drugs) * len(run.cand_dis) - rows - contra,
            "contraindicated_excluded": contra, "model_run": run.model_run}
