"""Platt scaling on the validation part: logit → probability that an unknown candidate pair is a TREATS edge.

Negatives are sampled from every unknown candidate pair and weighted up to their true count, so the
probabilities reflect the real base rate (a few hundred indications among ~a million pairs), not a 1:1 mix.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from gnn.treats.metrics import sample_negatives


def fit_platt(pos_scores: np.ndarray, neg_scores: np.ndarray, neg_weight: float) -> tuple[float, float]:
    """(a, b) with p = 1 / (1 + exp(-(a·s + b)))."""
    x = np.r_[pos_scores, neg_scores][:, None]
    y = np.r_[np.ones(len(pos_scores)), np.zeros(len(neg_scores))]
    w = np.r_[np.ones(len(pos_scores)), np.full(len(neg_scores), neg_weight)]
    lr = LogisticRegression(C=1e4).fit(x, y, sample_weight=w)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def platt_prob(scores: np.ndarray, a: float, b: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(a * np.asarray(scores, dtype=np.float64) + b)))


def calibrate_on_validation(scorer, val: np.ndarray, known_keys: np.ndarray, cand_drugs: np.ndarray,
                            cand_dis: np.ndarray, n_dis_total: int, seed: int, n_neg: int = 20000) -> dict:
    """Platt parameters fitted on validation positives against weighted sampled unknown pairs."""
    neg = sample_negatives(known_keys, cand_drugs, cand_dis, n_dis_total, n_neg, seed)
    n_unknown = len(cand_drugs) * len(cand_dis) - len(known_keys)
    a, b = fit_platt(scorer.pairs(val[0], val[1]), scorer.pairs(neg[0], neg[1]), n_unknown / n_neg)
    return {"method": "platt", "a": a, "b": b, "fitted_on": "validation TREATS vs weighted unknown candidate pairs",
            "n_pos": int(val.shape[1]), "n_neg": n_neg}
