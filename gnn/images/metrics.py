"""Binary metrics, Platt calibration and the decision threshold (chosen on the calibration part)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score

# Share of normal images in the source's val split, which kept the natural class mix (the train split's
# normal class was undersampled); calibrated probabilities refer to this mix.
NATURAL_NORMAL_SHARE = 135 / 524


def prior_weights(y: np.ndarray, normal_share: float = NATURAL_NORMAL_SHARE) -> np.ndarray:
    """Per-sample weights that re-weight labels `y` to the given share of normal (0) cases."""
    y = np.asarray(y)
    p0 = max(float((y == 0).mean()), 1e-9)
    return np.where(y == 0, normal_share / p0, (1 - normal_share) / max(1 - p0, 1e-9))


def fit_platt(logits: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Fit p = sigmoid(a·logit + b) by weighted log loss; returns (a, b)."""
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    w = np.ones_like(z) if weights is None else np.asarray(weights, dtype=np.float64)

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        s = p[0] * z + p[1]
        nll = np.logaddexp(0, s) - t * s
        g = (1 / (1 + np.exp(-s)) - t) * w
        return float((w * nll).sum() / w.sum()), np.array([(g * z).sum(), g.sum()]) / w.sum()

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=[(1e-3, 100), (-50, 50)])
    return float(res.x[0]), float(res.x[1])


def apply_platt(logits: np.ndarray, a: float, b: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(a * np.asarray(logits, dtype=np.float64) + b)))


def best_threshold(prob: np.ndarray, y: np.ndarray) -> float:
    """The threshold that maximises accuracy (ties: closest to 0.5), midway between neighbouring scores."""
    p = np.unique(np.asarray(prob, dtype=np.float64))
    cands = np.concatenate([[0.0], (p[:-1] + p[1:]) / 2, [1.0]]) if len(p) > 1 else np.array([0.5])
    acc = np.array([((prob >= c).astype(int) == y).mean() for c in cands])
    best = np.flatnonzero(acc == acc.max())
    return float(cands[best[np.argmin(np.abs(cands[best] - 0.5))]])


def binary_metrics(prob: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float]:
    """AUROC, accuracy and balanced accuracy at `threshold`, accuracy at 0.5."""
    y = np.asarray(y).astype(int)
    pred = (np.asarray(prob) >= threshold).astype(int)
    tpr = float((pred[y == 1] == 1).mean()) if (y == 1).any() else float("nan")
    tnr = float((pred[y == 0] == 0).mean()) if (y == 0).any() else float("nan")
    return {
        "auroc": float(roc_auc_score(y, prob)),
        "accuracy": float((pred == y).mean()),
        "balanced_accuracy": (tpr + tnr) / 2,
        "sensitivity": tpr,
        "specificity": tnr,
        "accuracy_at_0.5": float(((np.asarray(prob) >= 0.5).astype(int) == y).mean()),
        "threshold": float(threshold),
    }


def mean_sd(values: list[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": len(v)}
