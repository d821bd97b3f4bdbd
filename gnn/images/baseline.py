"""The simple baseline: logistic regression on raw pixels (class-balanced), same split and threshold rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from gnn.images.data import Split
from gnn.images.metrics import best_threshold, binary_metrics


@dataclass
class PixelLogReg:
    """Logistic regression on standardised raw pixels (784 features)."""

    c: float = 0.01
    seed: int = 0

    def fit(self, x: np.ndarray, y: np.ndarray) -> PixelLogReg:
        flat = self._flat(x)
        self.mean_, self.std_ = flat.mean(0), flat.std(0) + 1e-6
        self.clf_ = LogisticRegression(C=self.c, class_weight="balanced", max_iter=2000, random_state=self.seed)
        self.clf_.fit((flat - self.mean_) / self.std_, y)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.clf_.predict_proba((self._flat(x) - self.mean_) / self.std_)[:, 1]

    @staticmethod
    def _flat(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1).astype(np.float32) / 255.0


def evaluate_baseline(split: Split, seed: int = 0) -> dict:
    """Fit on train, threshold on calibration, metrics on calibration and test."""
    lr = PixelLogReg(seed=seed).fit(split.x_train, split.y_train)
    threshold = best_threshold(lr.predict_proba(split.x_cal), split.y_cal)
    return {part: binary_metrics(lr.predict_proba(getattr(split, f"x_{part}")), getattr(split, f"y_{part}"), threshold)
            for part in ("cal", "test")}
