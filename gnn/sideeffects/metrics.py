"""Per-drug ranking metrics (AUROC, AUPRC, precision@10, recall@50) and calibration over all candidate pairs."""

from __future__ import annotations

import numpy as np
from scipy import sparse

RANK_METRICS = ("auroc", "auprc", "p@10", "r@50")
METRICS = (*RANK_METRICS, "brier", "ece")


def per_drug(scores: np.ndarray, truth: sparse.csr_matrix, known: sparse.csr_matrix | None = None) -> dict[str, float]:
    """Mean over query drugs with ≥1 positive of each ranking metric; `known` pairs are not candidates."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    out: dict[str, list[float]] = {m: [] for m in RANK_METRICS}
    truth = truth.tocsr()
    for i in range(scores.shape[0]):
        pos = truth.indices[truth.indptr[i]:truth.indptr[i + 1]]
        if len(pos) == 0:
            continue
        cand = np.ones(scores.shape[1], dtype=bool)
        if known is not None:
            cand[known.indices[known.indptr[i]:known.indptr[i + 1]]] = False
        y = np.zeros(scores.shape[1], dtype=np.int8)
        y[pos] = 1
        y, s = y[cand], scores[i, cand]
        if y.sum() == 0 or y.sum() == len(y):
            continue
        order = np.argsort(-s, kind="stable")
        out["auroc"].append(roc_auc_score(y, s))
        out["auprc"].append(average_precision_score(y, s))
        out["p@10"].append(float(y[order[:10]].sum()) / 10)
        out["r@50"].append(float(y[order[:50]].sum()) / float(y.sum()))
    res = {m: float(np.mean(v)) if v else float("nan") for m, v in out.items()}
    res["drugs"] = float(len(out["auroc"]))
    return res


def candidate_arrays(prob: np.ndarray, truth: sparse.csr_matrix,
                     known: sparse.csr_matrix | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, labels) of every candidate pair of the queries (drugs without a positive included)."""
    y = np.asarray(truth.toarray(), dtype=np.int8)
    cand = np.ones_like(y, dtype=bool) if known is None else np.asarray(known.toarray()) == 0
    return prob[cand], y[cand]


def calibration(prob: np.ndarray, truth: sparse.csr_matrix, known: sparse.csr_matrix | None = None) -> dict[str, float]:
    from gnn.pipeline.calibration import calibration_summary

    p, y = candidate_arrays(prob, truth, known)
    return calibration_summary(p, y)
