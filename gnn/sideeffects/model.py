"""Similarity-weighted kNN over several drug similarities, combined by a learned logistic stacker.

For a query drug q and a side effect s, each modality m (structure: Tanimoto on Morgan fingerprints; targets,
pharmacologic classes, ATC prefixes, DrugBank categories, interaction partners: Jaccard; in the warm setting
also the drug's own known profile) gives the similarity-weighted share of q's k most similar reference
drugs that cause s. A logistic regression over those shares (with the neighbours' mean similarity and
whether q has the modality at all) and the side effect's popularity learns how much to trust each
similarity; Platt scaling (gnn.pipeline.calibration) on held-out drugs turns its logit into a probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

EPS = 1e-4


def jaccard(a: sparse.csr_matrix, b: sparse.csr_matrix) -> np.ndarray:
    """Jaccard (= Tanimoto on bits) between the binary rows of a and b, dense float32 (0 where both empty)."""
    inter = np.asarray((a @ b.T).toarray(), dtype=np.float32)
    sa = np.asarray(a.getnnz(axis=1), dtype=np.float32)
    sb = np.asarray(b.getnnz(axis=1), dtype=np.float32)
    union = sa[:, None] + sb[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def top_k(sim: np.ndarray, k: int) -> sparse.csr_matrix:
    """Keep each row's k largest positive similarities (a sparse weight matrix)."""
    q, r = sim.shape
    k = min(k, r)
    if k <= 0 or r == 0:
        return sparse.csr_matrix((q, r), dtype=np.float32)
    idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(sim, idx, axis=1)
    rows = np.repeat(np.arange(q), k)
    keep = vals.ravel() > 0
    return sparse.csr_matrix((vals.ravel()[keep], (rows[keep], idx.ravel()[keep])), shape=(q, r), dtype=np.float32)


@dataclass
class Neighbourhood:
    """One modality's kNN result for a set of queries: weights (q × ref) and the shares (q × S)."""

    weights: sparse.csr_matrix
    share: np.ndarray
    mean_sim: np.ndarray
    has: np.ndarray


def neighbourhood(sim: np.ndarray, y_ref: sparse.csr_matrix, k: int, has: np.ndarray,
                  power: float = 1.0) -> Neighbourhood:
    """The k nearest reference drugs vote with weight sim**power (power > 1 sharpens: the closest count most)."""
    w = top_k(sim, k)
    if power != 1.0:
        w.data **= power
    den = np.asarray(w.sum(axis=1)).ravel()
    num = np.asarray((w @ y_ref).toarray(), dtype=np.float32)
    share = np.divide(num, den[:, None], out=np.zeros_like(num), where=den[:, None] > 0)
    cnt = np.maximum(w.getnnz(axis=1), 1)
    return Neighbourhood(w, share, (den / cnt).astype(np.float32), has.astype(np.float32))


def similarities(q_mats: dict[str, sparse.csr_matrix], r_mats: dict[str, sparse.csr_matrix],
                 exclude: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per modality, query × reference similarity; `exclude[i]` = reference column of query i itself (or -1)."""
    out = {}
    for m, qm in q_mats.items():
        s = jaccard(qm, r_mats[m])
        if exclude is not None:
            rows = np.nonzero(exclude >= 0)[0]
            s[rows, exclude[rows]] = 0.0
        out[m] = s
    return out


def feature_names(modalities: tuple[str, ...]) -> list[str]:
    names = []
    for m in modalities:
        names += [f"{m}:share", f"{m}:sqrt_share", f"{m}:share*sim", f"{m}:has"]
    return [*names, "popularity", "log_popularity"]


def pair_features(hoods: dict[str, Neighbourhood], pop: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Stacker inputs of the (query row, side-effect column) pairs, one column per `feature_names`."""
    feats = []
    for h in hoods.values():
        s = h.share[rows, cols]
        feats += [s, np.sqrt(s), s * h.mean_sim[rows], h.has[rows]]
    p = pop[cols]
    feats += [p, np.log(p + EPS)]
    return np.stack(feats, axis=1).astype(np.float32)


@dataclass
class Stacker:
    """Standardised logistic regression over pair features, stored as plain numbers (no pickle)."""

    modalities: tuple[str, ...]
    k: int
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    intercept: float = 0.0
    platt: tuple[float, float] = (1.0, 0.0)
    kind: str = "learned"  # "learned" (logistic stacker), "mean similarity" or "modality mean" (fixed weights)
    power: float = 1.0  # neighbour weight = similarity**power ("modality mean" sharpens)

    def fit(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float = 1.0) -> Stacker:
        from sklearn.linear_model import LogisticRegression

        self.mean = x.mean(axis=0)
        self.scale = x.std(axis=0) + 1e-6
        lr = LogisticRegression(C=c, max_iter=500).fit((x - self.mean) / self.scale, y, sample_weight=w)
        self.coef, self.intercept = lr.coef_.ravel().astype(np.float64), float(lr.intercept_[0])
        return self

    def hoods(self, sims: Any) -> dict[str, Neighbourhood]:
        """The neighbourhoods this stacker scores (a gnn.sideeffects.fit.QuerySims: its k and power)."""
        return sims.hoods(self.k, power=self.power)

    def logit_matrix(self, hoods: dict[str, Neighbourhood], pop: np.ndarray) -> np.ndarray:
        """Logits of every (query, side effect) pair, without materialising the pair features."""
        if self.kind == "modality mean":
            return modality_mean(hoods, pop)
        q = next(iter(hoods.values())).share.shape[0]
        z = np.full((q, len(pop)), self.intercept, dtype=np.float64)
        i = 0
        for m in self.modalities:
            h = hoods[m]
            wts = self.coef[i:i + 4] / self.scale[i:i + 4]
            z += wts[0] * h.share + wts[1] * np.sqrt(h.share) + wts[2] * h.share * h.mean_sim[:, None]
            z += (wts[3] * h.has - (self.coef[i:i + 4] * self.mean[i:i + 4] / self.scale[i:i + 4]).sum())[:, None]
            i += 4
        wp = self.coef[i:i + 2] / self.scale[i:i + 2]
        z += (wp[0] * pop + wp[1] * np.log(pop + EPS) - (self.coef[i:i + 2] * self.mean[i:i + 2]
                                                          / self.scale[i:i + 2]).sum())[None, :]
        return z

    def prob_matrix(self, hoods: dict[str, Neighbourhood], pop: np.ndarray) -> np.ndarray:
        from gnn.pipeline.calibration import apply_platt

        return apply_platt(self.logit_matrix(hoods, pop), *self.platt)

    def weights(self) -> dict[str, float]:
        """The learned weighting: standardised coefficient per feature (what the docs table shows)."""
        return {n: round(float(c), 4) for n, c in zip(feature_names(self.modalities), self.coef, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        return {"modalities": list(self.modalities), "k": self.k, "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept,
                "platt": list(self.platt), "kind": self.kind, "power": self.power}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Stacker:
        return cls(tuple(d["modalities"]), int(d["k"]), np.asarray(d["mean"]), np.asarray(d["scale"]),
                   np.asarray(d["coef"]), float(d["intercept"]), (float(d["platt"][0]), float(d["platt"][1])),
                   d.get("kind", "learned"), float(d.get("power", 1.0)))


def modality_mean(hoods: dict[str, Neighbourhood], pop: np.ndarray) -> np.ndarray:
    """The mean over the base similarities of each one's kNN share; a similarity the query lacks (or whose
    neighbours are all at zero) stands in with popularity, so it neither helps nor drags; popularity breaks ties."""
    base = [h for m, h in hoods.items() if m != "combined"]
    total = np.zeros_like(base[0].share, dtype=np.float64)
    for h in base:
        ok = (h.has > 0) & (h.mean_sim > 0)
        total += np.where(ok[:, None], h.share, pop[None, :])
    return total / len(base) + 1e-3 * pop[None, :]


def sample_pairs(truth: sparse.csr_matrix, known: sparse.csr_matrix | None, neg_rate: float,
                 rng: np.random.Generator, max_rows: int = 200_000) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                              np.ndarray]:
    """(rows, cols, y, weight): every positive, a `neg_rate` sample of the negatives weighted 1/rate, leaving
    out `known` pairs (the query's visible edges in the warm setting)."""
    q, s = truth.shape
    n_all = q * s
    rate = min(neg_rate, max_rows / max(n_all, 1))
    n_draw = int(n_all * rate)
    flat = rng.choice(n_all, size=n_draw, replace=False) if n_draw < n_all else np.arange(n_all)
    r, c = flat // s, flat % s
    t = truth.tocoo()
    neg_mask = np.asarray(truth[r, c]).ravel() == 0
    if known is not None:
        neg_mask &= np.asarray(known[r, c]).ravel() == 0
    r, c = r[neg_mask], c[neg_mask]
    rows = np.concatenate([t.row, r])
    cols = np.concatenate([t.col, c])
    y = np.concatenate([np.ones(len(t.row)), np.zeros(len(r))]).astype(np.int64)
    w = np.concatenate([np.ones(len(t.row)), np.full(len(r), 1.0 / max(rate, 1e-9))])
    return rows, cols, y, w
