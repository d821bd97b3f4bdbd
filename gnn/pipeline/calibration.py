"""Calibration, once for every family: Platt scaling, Brier score, expected calibration error and a
reliability plot (PNG). A clinician reads "0.8" as 80 %; these measure whether it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def fit_platt(scores: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """(a, b) with p = 1 / (1 + exp(-(a·s + b))), by weighted logistic regression on one score."""
    from sklearn.linear_model import LogisticRegression

    s = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(y, dtype=np.int64).ravel()
    if len(np.unique(y)) < 2:
        raise ValueError("Platt scaling needs both classes among the calibration labels")
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(s, y, sample_weight=weights)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def apply_platt(scores: np.ndarray, a: float, b: float) -> np.ndarray:
    z = a * np.asarray(scores, dtype=np.float64) + b
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def brier(prob: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Binary Brier score, or multiclass (mean over rows of the summed squared error) when `prob` is 2-D."""
    p = np.asarray(prob, dtype=np.float64)
    y = np.asarray(y)
    if p.ndim == 2:
        onehot = np.zeros_like(p)
        onehot[np.arange(len(y)), y.astype(np.int64)] = 1.0
        per_row = ((p - onehot) ** 2).sum(axis=1)
    else:
        per_row = (p - y.astype(np.float64)) ** 2
    return float(np.average(per_row, weights=weights))


def _conf_correct(prob: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(prob, dtype=np.float64)
    y = np.asarray(y)
    if p.ndim == 2:  # top-label calibration
        return p.max(axis=1), (p.argmax(axis=1) == y).astype(np.float64)
    return p, y.astype(np.float64)


def reliability_bins(prob: np.ndarray, y: np.ndarray, n_bins: int = 10,
                     weights: np.ndarray | None = None) -> list[dict[str, float]]:
    """Equal-width bins: mean predicted probability, observed frequency and weight per non-empty bin."""
    conf, hit = _conf_correct(prob, y)
    w = np.ones_like(conf) if weights is None else np.asarray(weights, dtype=np.float64)
    idx = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    out = []
    for b in range(n_bins):
        m = idx == b
        if w[m].sum() > 0:
            out.append({"lo": b / n_bins, "hi": (b + 1) / n_bins, "mean_prob": float(np.average(conf[m], weights=w[m])),
                        "observed": float(np.average(hit[m], weights=w[m])), "weight": float(w[m].sum())})
    return out


def ece(prob: np.ndarray, y: np.ndarray, n_bins: int = 10, weights: np.ndarray | None = None) -> float:
    """Expected calibration error: the weight-averaged |observed - predicted| over equal-width bins
    (top-label for multiclass probabilities)."""
    bins = reliability_bins(prob, y, n_bins, weights)
    total = sum(b["weight"] for b in bins)
    return float(sum(b["weight"] * abs(b["observed"] - b["mean_prob"]) for b in bins) / total) if total else 0.0


def calibration_summary(prob: np.ndarray, y: np.ndarray, n_bins: int = 10,
                        weights: np.ndarray | None = None) -> dict[str, float]:
    return {"brier": brier(prob, y, weights), "ece": ece(prob, y, n_bins, weights)}


def reliability_plot(curves: dict[str, tuple[np.ndarray, ...]], path: Path, title: str,
                     n_bins: int = 10) -> Path:
    """A reliability diagram (one line per named (prob, y) or (prob, y, weights) tuple) as a PNG, written
    atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gnn.artifacts_io import write_bytes

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="perfectly calibrated")
    for name, (prob, y, *w) in curves.items():
        weights = w[0] if w else None
        bins = reliability_bins(prob, y, n_bins, weights)
        ax.plot([b["mean_prob"] for b in bins], [b["observed"] for b in bins], marker="o",
                label=f"{name} (ECE {ece(prob, y, n_bins, weights):.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return write_bytes(Path(path), buf.getvalue())
