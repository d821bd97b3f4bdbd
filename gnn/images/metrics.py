"""Binary metrics as-is and re-weighted to a target prevalence (Platt scaling, Brier and ECE come from
`gnn.pipeline.calibration`, the one calibration helper)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from gnn.pipeline.calibration import brier, ece

# A clinic's stream (and MedMNIST's official test split) has about 37 % normal images; the shared training
# images were undersampled to 10 % normal. Probabilities and the decision threshold refer to this share.
DEFAULT_NORMAL_SHARE = 0.37


def prior_weights(y: np.ndarray, normal_share: float = DEFAULT_NORMAL_SHARE) -> np.ndarray:
    """Per-sample weights that re-weight labels `y` (1 = pneumonia) to the given share of normal cases."""
    y = np.asarray(y)
    if not 0.0 < normal_share < 1.0:
        raise ValueError(f"normal_share must lie strictly between 0 and 1, got {normal_share}")
    p0 = float((y == 0).mean())
    if p0 in (0.0, 1.0):
        raise ValueError("re-weighting to a prevalence needs both classes")
    return np.where(y == 0, normal_share / p0, (1 - normal_share) / (1 - p0))


def binary_metrics(prob: np.ndarray, y: np.ndarray, threshold: float,
                   weights: np.ndarray | None = None) -> dict[str, float]:
    """AUROC, accuracy, balanced accuracy, sensitivity, specificity at `threshold`, Brier and ECE (10 bins);
    with `weights`, every figure but AUROC (prevalence-free) is a weighted one."""
    y = np.asarray(y).astype(int)
    prob = np.asarray(prob, dtype=np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    pred = (prob >= threshold).astype(int)
    tpr = float((pred[y == 1] == 1).mean()) if (y == 1).any() else float("nan")
    tnr = float((pred[y == 0] == 0).mean()) if (y == 0).any() else float("nan")
    return {
        "auroc": float(roc_auc_score(y, prob)) if len(np.unique(y)) == 2 else float("nan"),
        "accuracy": float(np.average(pred == y, weights=w)),
        "balanced_accuracy": (tpr + tnr) / 2,
        "sensitivity": tpr,
        "specificity": tnr,
        "brier": brier(prob, y, w),
        "ece": ece(prob, y, 10, w),
    }


def report(prob: np.ndarray, y: np.ndarray, threshold: float, normal_share: float) -> dict[str, float]:
    """Metrics as-is plus `*_prev` ones re-weighted to `normal_share` normal (the target population)."""
    out = binary_metrics(prob, y, threshold)
    weighted = binary_metrics(prob, y, threshold, prior_weights(y, normal_share))
    out.update({f"{k}_prev": v for k, v in weighted.items() if k in ("accuracy", "brier", "ece")})
    return out
