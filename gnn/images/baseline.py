"""The simple baseline: logistic regression on raw pixels (class-balanced), calibrated like the CNN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from gnn.images.data import Split
from gnn.images.metrics import DEFAULT_NORMAL_SHARE, prior_weights
from gnn.pipeline.calibration import apply_platt, fit_platt


@dataclass
class PixelLogReg:
    """Logistic regression on standardised raw pixels (784 features), Platt-scaled for a target prevalence."""

    c: float = 0.01
    seed: int = 0

    def fit(self, split: Split, normal_share: float = DEFAULT_NORMAL_SHARE) -> PixelLogReg:
        flat = self._flat(split.x_train)
        self.mean_, self.std_ = flat.mean(0), flat.std(0) + 1e-6
        self.clf_ = LogisticRegression(C=self.c, class_weight="balanced", max_iter=2000, random_state=self.seed)
        self.clf_.fit((flat - self.mean_) / self.std_, split.y_train)
        self.a_, self.b_ = fit_platt(self.score(split.x_cal), split.y_cal, prior_weights(split.y_cal, normal_share))
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.clf_.decision_function((self._flat(x) - self.mean_) / self.std_)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return apply_platt(self.score(x), self.a_, self.b_)

    @staticmethod
    def _flat(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1).astype(np.float32) / 255.0
