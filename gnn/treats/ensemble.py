"""Score ensemble: a convex combination of per-disease z-scored GNN, DistMult, degree-prior and metapath scores.

score(drug, disease) = Σ_i w_i · (s_i − μ_i(disease)) / σ_i(disease) + β · log1p(TREATS degree of disease),
μ/σ over the candidate drugs for that disease. The weights (simplex grid, step 0.1) are chosen on the
validation edges by filtered MRR + Hits@10 among the weights whose all-candidate AUROC is ≥ `MIN_AUROC_FULL`
(MRR + AUROC(all) if none is); β (it only moves whole diseases, so ranks within a disease ignore it) by
sampled validation AUROC. The test edges are never looked at. `paths` (gnn.treats.pathmodel) is optional: a
run without it keeps its weight at 0; with it the grid keeps its weight ≥ `MIN_PATHS_WEIGHT`: it is fitted
(cross-fitted) on the ~480 training edges, and the 60 validation edges only decide how much of the GNN,
DistMult and the prior to blend in (an unconstrained grid fitted that noise; see docs/treats.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from gnn.treats.baselines import DegreePrior, DistMultModel
from gnn.treats.metrics import rank_metrics
from gnn.treats.pathmodel import PathScorer
from gnn.treats.paths import FEATURES
from gnn.treats.scorer import EmbeddingScorer
from kg.errors import ConfigError

COMPONENTS = ("gnn", "distmult", "degree_prior", "paths")
BETAS = (0.0, 0.25, 0.5, 1.0, 2.0)
MIN_AUROC_FULL = 0.95  # validation AUROC(all candidates) floor for the top-of-ranking weight objective
MIN_PATHS_WEIGHT = 0.5  # the cross-fitted metapath regression anchors the ensemble when there is one
CHUNK = 16  # diseases scored at once


def _zrows(m: np.ndarray) -> np.ndarray:
    m = m.astype(np.float64)
    return (m - m.mean(1, keepdims=True)) / np.maximum(m.std(1, keepdims=True), 1e-9)


def _log_prior(prior: DegreePrior):
    return lambda ds, drugs: np.log(prior.matrix(ds, drugs))


@dataclass
class EnsembleScorer:
    """Same interface as `EmbeddingScorer` (`pairs`, `matrix`); z-statistics over `cand_drugs`."""

    gnn: EmbeddingScorer | None  # None: a recipe without the GNN (its weight must be 0)
    distmult: DistMultModel
    prior: DegreePrior
    weights: np.ndarray  # over COMPONENTS, sums to 1
    beta: float
    cand_drugs: np.ndarray
    paths: PathScorer | None = None

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64)
        if self.weights.shape != (len(COMPONENTS),):
            raise ValueError(f"ensemble weights must be {len(COMPONENTS)} numbers over {COMPONENTS}, "
                             f"got {self.weights.tolist()}")
        if self.paths is None and self.weights[COMPONENTS.index("paths")]:
            raise ValueError("ensemble weight on 'paths' but no path scorer")
        if self.gnn is None and self.weights[COMPONENTS.index("gnn")]:
            raise ValueError("ensemble weight on 'gnn' but no GNN scorer")

    @cached_property
    def _column(self) -> dict[int, int]:
        """drug node row -> its column among `cand_drugs`."""
        return {int(d): j for j, d in enumerate(self.cand_drugs)}

    def _parts(self, diseases: np.ndarray, drugs: np.ndarray, all_parts: bool = False,
               path_scores: np.ndarray | None = None) -> list[np.ndarray | None]:
        """Each component's disease × drug scores (None for a zero-weight one unless `all_parts`);
        `path_scores`: the path regression's, when the caller already has them."""
        paths = (lambda *_: path_scores) if path_scores is not None else \
            (self.paths.matrix if self.paths is not None else None)
        fns = [self.gnn.matrix if self.gnn is not None else None, self.distmult.matrix, _log_prior(self.prior),
               paths]
        return [f(diseases, drugs) if f is not None and (all_parts or w) else None
                for f, w in zip(fns, self.weights, strict=True)]

    def matrix(self, diseases: np.ndarray, cand_drugs: np.ndarray) -> np.ndarray:
        """len(diseases) × len(cand_drugs) scores, z-statistics per disease over `self.cand_drugs`."""
        diseases = np.asarray(diseases)
        # rows are independent (z per disease): chunks bound the memory of the path features
        full = np.vstack([self._combine(c, self._parts(c, self.cand_drugs))
                          for c in np.array_split(diseases, max(1, -(-len(diseases) // CHUNK)))])
        if np.array_equal(cand_drugs, self.cand_drugs):
            return full
        col = self._column
        if all(int(d) in col for d in cand_drugs):
            return full[:, [col[int(d)] for d in cand_drugs]]
        raise ValueError("ensemble scores are defined for the run's candidate drugs only")

    def _combine(self, diseases: np.ndarray, parts: list[np.ndarray | None]) -> np.ndarray:
        out = sum(w * _zrows(p) for w, p in zip(self.weights, parts, strict=True) if w and p is not None)
        out = out if isinstance(out, np.ndarray) else np.zeros((len(diseases), len(self.cand_drugs)))
        return out + self.beta * np.log1p(self.prior.deg_dis[diseases])[:, None]

    def drivers(self, disease: int, drugs: np.ndarray, top_features: int = 3) -> list[dict]:
        """Why each drug scores as it does for `disease`: every weighted component's share of the score
        (w · z over the candidate drugs) and, with the path regression, its strongest positive metapath terms.
        The path features are computed once (all candidates) and serve both the z-statistics and the terms."""
        cols = [self._column[int(d)] for d in drugs]
        terms = self.paths.terms(disease, self.cand_drugs) if self.paths is not None else None  # n_feat × n_cand
        path_scores = None if terms is None else (terms.sum(0) + self.paths.intercept)[None, :]  # type: ignore[union-attr]
        parts = self._parts(np.array([disease]), self.cand_drugs, path_scores=path_scores)
        shares = {name: _zrows(p)[0, cols] * w for name, w, p in zip(COMPONENTS, self.weights, parts, strict=True)
                  if w and p is not None}
        names = list(FEATURES)
        out = []
        for i, c in enumerate(cols):
            item: dict = {"components": {name: round(float(v[i]), 4) for name, v in shares.items()}}
            if terms is not None:
                best = [j for j in np.argsort(-terms[:, c])[:top_features] if terms[j, c] > 0]
                item["metapaths"] = [{"feature": names[j], "description": FEATURES[names[j]],
                                      "logit_term": round(float(terms[j, c]), 4)} for j in best]
            out.append(item)
        return out

    def pairs(self, drugs: np.ndarray, diseases: np.ndarray) -> np.ndarray:
        uniq, inv = np.unique(np.asarray(diseases), return_inverse=True)
        m = self.matrix(uniq, self.cand_drugs)
        col = self._column
        return np.array([m[i, col[int(d)]] for d, i in zip(np.asarray(drugs), inv, strict=True)])

    def save(self, path: Path, paths_path: Path | None = None) -> Path:
        """ensemble.npz (DistMult, degrees, weights over COMPONENTS, β) and, with a path scorer, `paths_path`."""
        np.savez_compressed(path, dm_drug=self.distmult.drug, dm_disease=self.distmult.disease,
                            dm_rel=self.distmult.rel, deg_drug=self.prior.deg_drug, deg_dis=self.prior.deg_dis,
                            weights=self.weights, components=np.array(COMPONENTS), beta=np.array([self.beta]),
                            cand_drugs=self.cand_drugs)
        if self.paths is not None:
            if paths_path is None:
                raise ValueError("an ensemble with a path scorer needs a file for it")
            self.paths.save(paths_path)
        return path

    @classmethod
    def load(cls, path: Path, gnn: EmbeddingScorer | None, paths_path: Path | None = None) -> EnsembleScorer:
        """Load; a file written for other components (an older run) is a ConfigError naming the field."""
        with np.load(path) as z:
            comps = [str(c) for c in z["components"]] if "components" in z.files else ["gnn", "distmult",
                                                                                        "degree_prior"]
            if comps != list(COMPONENTS):
                raise ConfigError(f"{path}: field 'components' is {comps}, this code needs {list(COMPONENTS)}: "
                                  "the run is outdated, retrain with `medkg train treats`")
            weights = z["weights"]
            if weights[COMPONENTS.index("gnn")] and gnn is None:
                raise ConfigError(f"{path}: weight on 'gnn' but the run has no scorer.npz: retrain with "
                                  "`medkg train treats`")
            paths = None
            if weights[COMPONENTS.index("paths")]:
                if paths_path is None or not paths_path.is_file():
                    raise ConfigError(f"{path}: weight on 'paths' but {paths_path} is missing")
                paths = PathScorer.load(paths_path)
            return cls(gnn=gnn, distmult=DistMultModel(z["dm_drug"], z["dm_disease"], z["dm_rel"], 0.0),
                       prior=DegreePrior(z["deg_drug"], z["deg_dis"]), weights=weights,
                       beta=float(z["beta"][0]), cand_drugs=z["cand_drugs"], paths=paths)


def simplex_grid(step: float = 0.1, dims: int = len(COMPONENTS)) -> list[np.ndarray]:
    """Every weight vector over `dims` components with entries in multiples of `step`, summing to 1."""
    n = round(1 / step)

    def rec(left: int, k: int) -> list[list[int]]:
        return [[left]] if k == 1 else [[i, *r] for i in range(left + 1) for r in rec(left - i, k - 1)]

    return [np.array(c, dtype=np.float64) / n for c in rec(n, dims)]


def objective(m: dict[str, float]) -> float:
    """Top-of-ranking objective: validation MRR + Hits@10."""
    return m["mrr"] + m["hits@10"]


def fallback_objective(m: dict[str, float]) -> float:
    """Used when no weight reaches `MIN_AUROC_FULL`: validation MRR + AUROC(all candidates)."""
    return m["mrr"] + m["auroc_full"]


def _select(metrics: list[dict[str, float]]) -> int:
    """Index of the best metrics: max `objective` subject to AUROC(all) ≥ floor, else max fallback."""
    ok = [i for i, m in enumerate(metrics) if m["auroc_full"] >= MIN_AUROC_FULL]
    if ok:
        return max(ok, key=lambda i: (objective(metrics[i]), metrics[i]["auroc_full"]))
    return max(range(len(metrics)), key=lambda i: fallback_objective(metrics[i]))


def fit_ensemble(gnn: EmbeddingScorer | None, distmult: DistMultModel, prior: DegreePrior, val: np.ndarray,
                 val_neg: np.ndarray, cand_drugs: np.ndarray, known: np.ndarray, step: float = 0.1,
                 paths: PathScorer | None = None) -> tuple[EnsembleScorer, dict]:
    """Weights by validation MRR + Hits@10 with AUROC(all) ≥ floor, then β by sampled validation AUROC."""
    start = np.eye(len(COMPONENTS))[COMPONENTS.index("gnn" if gnn is not None else "distmult")]
    base = EnsembleScorer(gnn, distmult, prior, start, 0.0, cand_drugs, paths)
    diseases = np.unique(val[1])
    z = [_zrows(p) if p is not None else None for p in base._parts(diseases, cand_drugs, all_parts=True)]
    row = {int(x): r for r, x in enumerate(diseases)}
    ip = COMPONENTS.index("paths")
    gnn_only = np.eye(len(COMPONENTS))[0]
    ig = COMPONENTS.index("gnn")
    grid = [w for w in simplex_grid(step) if (w[ip] >= MIN_PATHS_WEIGHT - 1e-9 if paths is not None else not w[ip])
            and (gnn is not None or not w[ig])]

    def val_metrics(w: np.ndarray) -> dict[str, float]:
        mat = sum(wi * zi for wi, zi in zip(w, z, strict=True) if wi)
        return rank_metrics(val, lambda ds: mat[[row[int(x)] for x in ds]], cand_drugs, known)

    metrics = [val_metrics(w) for w in grid]
    i_best = _select(metrics)
    best_w, best_m = grid[i_best], metrics[i_best]
    best_obj = objective(best_m)
    gnn_obj = objective(val_metrics(gnn_only)) if gnn is not None else float("nan")
    base.weights = best_w
    y = np.r_[np.ones(val.shape[1]), np.zeros(val_neg.shape[1])]
    best_auc = -np.inf
    for beta in BETAS:
        cand = EnsembleScorer(gnn, distmult, prior, best_w, beta, cand_drugs, paths)
        auc = roc_auc_score(y, np.r_[cand.pairs(val[0], val[1]), cand.pairs(val_neg[0], val_neg[1])])
        if auc > best_auc + 1e-12:
            best_auc, base.beta = auc, beta
    info = {"weights": dict(zip(COMPONENTS, map(float, best_w), strict=True)), "beta": base.beta,
            "val_objective": float(best_obj), "val_objective_gnn": float(gnn_obj), "val_auroc_sampled": best_auc,
            "val_auroc_full": float(best_m["auroc_full"]), "val_mrr": float(best_m["mrr"]),
            "val_hits@10": float(best_m["hits@10"]),
            "objective": f"validation MRR + Hits@10 subject to validation AUROC(all) >= {MIN_AUROC_FULL}; "
                         f"grid step {step}, paths weight >= {MIN_PATHS_WEIGHT if paths is not None else 0}; "
                         "beta by sampled validation AUROC",
            "better_than_gnn": bool(not np.array_equal(best_w, gnn_only))}
    return base, info
