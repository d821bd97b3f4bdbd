"""Per-drug ranking metrics (AUROC, AUPRC, precision@10, recall@50) and calibration over all candidate pairs."""

from __future__ import annotations

import numpy as np
from scipy import sparse

RANK_METRICS = ("auroc", "auprc", "p@10", "r@50")
METRICS = (*RANK_METRICS, "brier", "ece")


def per_drug(scores: np.ndarray, truth: sparse.csr_matrix, known: sparse.csr_matrix | None = None) -> dict[str, float]:
    """Mean over query drugs with ≥1 positive of each ranking metric; `known` pairs are not candidates."""
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
        out["auroc"].append(auroc(y, s))
        out["auprc"].append(average_precision(y[order], s[order]))
        out["p@10"].append(float(y[order[:10]].sum()) / 10)
        out["r@50"].append(float(y[order[:50]].sum()) / float(y.sum()))
    res = {m: float(np.mean(v)) if v else float("nan") for m, v in out.items()}
    res["drugs"] = float(len(out["auroc"]))
    return res


def auroc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUROC with tied scores counted half (= sklearn's roc_auc_score), without its overhead."""
    from scipy.stats import rankdata

    n_pos = float(y.sum())
    n_neg = len(y) - n_pos
    return float((rankdata(s)[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(y_sorted: np.ndarray, s_sorted: np.ndarray) -> float:
    """Average precision of labels sorted by descending score, one step per distinct score
    (= sklearn's average_precision_score)."""
    tp = np.cumsum(y_sorted, dtype=np.float64)
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s_sorted) - 1]
    prec = tp[last] / (last + 1)
    rec = tp[last] / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


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
