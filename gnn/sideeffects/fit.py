"""Fitting one setting (cold: the query has no known side effects; warm: some are known): neighbourhoods
for a query set, the stacker fit, Platt calibration and the choice of k, all on data given by the caller."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from gnn.sideeffects.data import MODALITIES, SideEffectData
from gnn.sideeffects.model import Neighbourhood, Stacker, neighbourhood, pair_features, sample_pairs, similarities

COMBINED = "combined"
SHARPEN = 3.0  # similarity power of the "modality mean" kind (chosen on validation drugs of seeds 0-2)
COLD = (*MODALITIES, COMBINED)
WARM = (*MODALITIES, "profile", COMBINED)


@dataclass
class Reference:
    """The neighbour drugs: their rows, their visible labels and the side effects' popularity among them."""

    rows: np.ndarray
    y: sparse.csr_matrix
    pop: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray, y_visible: sparse.csr_matrix) -> Reference:
        y = y_visible[rows].tocsr()
        return cls(rows, y, np.asarray(y.mean(axis=0)).ravel().astype(np.float64))


class QuerySims:
    """Similarities of a set of query drugs to the reference, per modality (computed once, reused over k).

    `mats` maps each base modality (and "profile" in the warm setting) to its drug × feature matrix;
    "combined" is the mean of the other similarities (equal weights)."""

    def __init__(self, mats: dict[str, sparse.csr_matrix], ref: Reference, rows: np.ndarray,
                 modalities: tuple[str, ...]) -> None:
        self.rows, self.ref, self.modalities = rows, ref, modalities
        pos = {int(r): i for i, r in enumerate(ref.rows)}
        exclude = np.array([pos.get(int(r), -1) for r in rows], dtype=np.int64)
        base = tuple(m for m in modalities if m != COMBINED)
        q = {m: mats[m][rows].tocsr() for m in base}
        self.sims = similarities(q, {m: mats[m][ref.rows].tocsr() for m in base}, exclude)
        self.has = {m: np.asarray(q[m].getnnz(axis=1) > 0) for m in base}
        if COMBINED in modalities:
            self.sims[COMBINED] = sum(self.sims[m] for m in base) / len(base)
            self.has[COMBINED] = np.logical_or.reduce([self.has[m] for m in base])

    @classmethod
    def of(cls, data: SideEffectData, ref: Reference, rows: np.ndarray, modalities: tuple[str, ...],
           y_visible: sparse.csr_matrix | None = None) -> QuerySims:
        mats = dict(data.modalities)
        if "profile" in modalities:
            assert y_visible is not None, "the warm setting needs the visible labels"
            mats["profile"] = y_visible
        return cls(mats, ref, rows, modalities)

    def hoods(self, k: int, modalities: tuple[str, ...] | None = None, power: float = 1.0
              ) -> dict[str, Neighbourhood]:
        return {m: neighbourhood(self.sims[m], self.ref.y, k, self.has[m], power)
                for m in (modalities or self.modalities)}


def fit_stacker(sims: QuerySims, truth: sparse.csr_matrix, known: sparse.csr_matrix | None, k: int,
                rng: np.random.Generator, neg_rate: float = 0.05, c: float = 1.0) -> Stacker:
    hoods = sims.hoods(k)
    r, col, y, w = sample_pairs(truth, known, neg_rate, rng)
    x = pair_features(hoods, sims.ref.pop, r, col)
    return Stacker(sims.modalities, k).fit(x, y, w, c)


def mean_similarity_stacker(modalities: tuple[str, ...], k: int) -> Stacker:
    """The unlearned alternative: rank by the kNN share over the mean similarity (popularity breaks ties)."""
    from gnn.sideeffects.model import feature_names

    names = feature_names(modalities)
    coef = np.zeros(len(names))
    coef[names.index(f"{COMBINED}:share")] = 1.0
    coef[names.index("popularity")] = 1e-3
    return Stacker(modalities, k, np.zeros(len(names)), np.ones(len(names)), coef, 0.0, kind="mean similarity")


def modality_mean_stacker(modalities: tuple[str, ...], k: int, power: float = SHARPEN) -> Stacker:
    """The other unlearned alternative: the mean of each similarity's kNN share, neighbours weighted by
    similarity**power (see gnn.sideeffects.model.modality_mean)."""
    from gnn.sideeffects.model import feature_names

    n = len(feature_names(modalities))
    return Stacker(modalities, k, np.zeros(n), np.ones(n), np.zeros(n), 0.0, kind="modality mean", power=power)


def calibrate(stacker: Stacker, sims: QuerySims, truth: sparse.csr_matrix, known: sparse.csr_matrix | None,
              rng: np.random.Generator) -> np.ndarray:
    """Platt-scale the stacker's logit on the given queries (every positive, sampled weighted negatives);
    returns the calibrated probability matrix of those queries."""
    from gnn.pipeline.calibration import apply_platt, fit_platt

    z = stacker.logit_matrix(stacker.hoods(sims), sims.ref.pop)
    r, c, y, w = sample_pairs(truth, known, 0.2, rng)
    stacker.platt = fit_platt(z[r, c], y, w)
    return apply_platt(z, *stacker.platt)


def baseline_scores(sims: QuerySims, kind: str, k: int) -> np.ndarray:
    """Popularity, or one modality's kNN share with popularity breaking ties (and standing in for a query
    without that modality), so a baseline always ranks every side effect."""
    pop = sims.ref.pop[None, :]
    if kind == "popularity":
        return np.repeat(pop, len(sims.rows), axis=0)
    h = neighbourhood(sims.sims[kind], sims.ref.y, k, sims.has[kind])
    return h.share + 1e-3 * pop


def platt_baseline(score_val: np.ndarray, truth_val: sparse.csr_matrix, known_val: sparse.csr_matrix | None,
                   rng: np.random.Generator) -> tuple[float, float]:
    from gnn.pipeline.calibration import fit_platt

    r, c, y, w = sample_pairs(truth_val, known_val, 0.2, rng)
    return fit_platt(np.log(score_val[r, c] + 1e-4), y, w)


def baseline_prob(score: np.ndarray, ab: tuple[float, float]) -> np.ndarray:
    from gnn.pipeline.calibration import apply_platt

    return apply_platt(np.log(score + 1e-4), *ab)
