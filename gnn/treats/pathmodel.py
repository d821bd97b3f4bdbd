"""Metapath/text logistic regression scorer, fitted by cross-fitting on the training TREATS edges.

The training edges are cut into `folds` parts; for each part the features (gnn.treats.paths) are computed with
only the other parts visible, and the part's edges (positives) and random candidate drugs of the same diseases
(negatives) become training rows, so the regression sees the situation it is used in (a link absent from the
graph) with ~8× more positives than the 60 validation edges. Validation and test edges are never visible and
never rows. Scoring: features with the scorer's `visible` edges → `log1p(x / scale)` (the text cosine raw) →
linear score. numpy/scipy/sklearn only (no torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from gnn.treats.paths import FEATURES, PathGraph, VisibleProducts
from gnn.treats.split import pair_keys
from kg.errors import ConfigError

RAW = ("text",)  # features used as they are (can be negative); the others are log1p(x / scale)


def transform(f: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Raw features (n_feat first) → model inputs."""
    s = scale.reshape((-1,) + (1,) * (f.ndim - 1))
    out = np.log1p(np.maximum(f, 0) / s)
    for name in RAW:
        i = list(FEATURES).index(name)
        out[i] = f[i]
    return out


@dataclass
class PathScorer:
    """Same interface as `EmbeddingScorer` (`pairs`, `matrix`): a linear model over metapath/text features."""

    graph: PathGraph
    visible: np.ndarray  # 2×n TREATS edges the paths may use
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @cached_property
    def _pre(self) -> VisibleProducts:
        """`visible_products` of this scorer's visible edges, computed on first use and kept."""
        return self.graph.visible_products(self.visible)

    def matrix(self, diseases: np.ndarray, cand_drugs: np.ndarray) -> np.ndarray:
        f = transform(self.graph.features(self.visible, np.asarray(diseases), np.asarray(cand_drugs), self._pre),
                      self.scale)
        return np.tensordot(self.coef, f, axes=1) + self.intercept

    def terms(self, disease: int, drugs: np.ndarray) -> np.ndarray:
        """len(FEATURES) × len(drugs): each feature's term coef_i · input_i in the logit of (drug, disease);
        a column's sum plus the intercept is that drug's score."""
        f = transform(self.graph.features(self.visible, np.array([disease]), np.asarray(drugs), self._pre),
                      self.scale)
        return self.coef[:, None] * f[:, 0, :]

    def pairs(self, drugs: np.ndarray, diseases: np.ndarray) -> np.ndarray:
        drugs, diseases = np.asarray(drugs), np.asarray(diseases)
        ud, di = np.unique(drugs, return_inverse=True)
        ux, xi = np.unique(diseases, return_inverse=True)
        return self.matrix(ux, ud)[xi, di]

    def with_visible(self, visible: np.ndarray, graph: PathGraph | None = None) -> PathScorer:
        """The same coefficients over another set of visible TREATS edges (deployment: every known edge)."""
        return PathScorer(graph or self.graph, visible, self.scale, self.coef, self.intercept)

    def save(self, path: Path) -> Path:
        return self.graph.save(path, visible=self.visible, scale=self.scale, coef=self.coef,
                               intercept=np.array([self.intercept]), feature_names=np.array(list(FEATURES)))

    @classmethod
    def load(cls, path: Path) -> PathScorer:
        with np.load(path) as z:
            names = [str(n) for n in z["feature_names"]] if "feature_names" in z.files else []
            if names != list(FEATURES):
                raise ConfigError(f"{path}: field 'feature_names' is {names}, this code computes {list(FEATURES)}: "
                                  "the run is outdated, retrain with `medkg train treats`")
            return cls(PathGraph.from_npz(z), z["visible"], z["scale"], z["coef"], float(z["intercept"][0]))


def crossfit_rows(graph: PathGraph, train: np.ndarray, cand_drugs: np.ndarray, cand_dis: np.ndarray, n_dis: int,
                  seed: int, folds: int = 5, n_neg: int = 100, n_neg_dis: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Raw feature rows (n × n_feat) and labels from `folds`-fold cross-fitting over the training edges.

    Per held positive (d, x): `n_neg` random candidate drugs for x and `n_neg_dis` random candidate diseases
    for d (so the disease-level terms are learnt too), minus training edges."""
    rng = np.random.default_rng(seed)
    fold = rng.permutation(train.shape[1]) % folds
    col = {int(d): j for j, d in enumerate(cand_drugs)}
    dis = np.union1d(cand_dis, train[1])
    row = {int(x): i for i, x in enumerate(dis)}
    train_keys = set(pair_keys(train, n_dis).tolist())
    xs, ys = [], []
    for k in range(folds):
        held = train[:, fold == k]
        if held.shape[1] == 0:
            continue
        f = graph.features(train[:, fold != k], dis, cand_drugs)
        for d, x in held.T.tolist():
            if d not in col:
                continue
            neg = [j for j in rng.choice(len(cand_drugs), min(n_neg, len(cand_drugs)), replace=False)
                   if int(cand_drugs[j]) * n_dis + x not in train_keys]
            neg_x = [int(r) for r in rng.choice(dis, min(n_neg_dis, len(dis)), replace=False)
                     if d * n_dis + int(r) not in train_keys]
            xs.append(np.vstack([f[:, row[x], [col[d], *neg]].T, f[:, [row[r] for r in neg_x], col[d]].T]))
            ys.append(np.r_[1.0, np.zeros(len(neg) + len(neg_x))])
    if not xs:
        raise ValueError("cross-fitting needs training TREATS edges between candidate drugs and diseases")
    return np.vstack(xs), np.concatenate(ys)


def fit_path_scorer(graph: PathGraph, train: np.ndarray, cand_drugs: np.ndarray, cand_dis: np.ndarray, n_dis: int,
                    seed: int, folds: int = 5, n_neg: int = 100, n_neg_dis: int = 10, c: float = 1.0
                    ) -> tuple[PathScorer, dict]:
    """Cross-fitted logistic regression; the returned scorer sees `train` as its visible edges."""
    x, y = crossfit_rows(graph, train, cand_drugs, cand_dis, n_dis, seed, folds, n_neg, n_neg_dis)
    pos = x[y == 1]
    scale = np.array([pos[pos[:, i] > 0, i].mean() if (pos[:, i] > 0).any() else 1.0 for i in range(x.shape[1])])
    scale = np.maximum(scale, 1e-6).astype(np.float32)
    lr = LogisticRegression(C=c, max_iter=5000).fit(transform(x.T, scale).T, y)
    scorer = PathScorer(graph, train, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))
    info = {"folds": folds, "negative_drugs_per_positive": n_neg, "negative_diseases_per_positive": n_neg_dis,
            "C": c, "rows": len(y), "positives": int(y.sum()),
            "coef": dict(zip(FEATURES, map(float, lr.coef_[0]), strict=True))}
    return scorer, info
