"""Score ensemble: a convex combination of per-disease z-scored GNN, DistMult and degree-prior scores.

score(drug, disease) = Σ_i w_i · (s_i − μ_i(disease)) / σ_i(disease) + β · log1p(TREATS degree of disease),
μ/σ over the candidate drugs for that disease. The weights (simplex grid) are chosen on the validation edges by
filtered MRR + Hits@10 among the weights whose all-candidate AUROC is ≥ `MIN_AUROC_FULL` (MRR + AUROC(all) if
none is); β (it only moves whole diseases, so ranks within a disease ignore it) by
sampled validation AUROC. The test edges are never looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from gnn.treats.baselines import DegreePrior, DistMultModel
from gnn.treats.metrics import rank_metrics
from gnn.treats.scorer import EmbeddingScorer

COMPONENTS = ("gnn", "distmult", "degree_prior")
BETAS = (0.0, 0.25, 0.5, 1.0, 2.0)
MIN_AUROC_FULL = 0.95  # validation AUROC(all candidates) floor for the top-of-ranking weight objective


def _zrows(m: np.ndarray) -> np.ndarray:
    m = m.astype(np.float64)
    return (m - m.mean(1, keepdims=True)) / np.maximum(m.std(1, keepdims=True), 1e-9)


def _log_prior(prior: DegreePrior):
    return lambda ds, drugs: np.log(prior.matrix(ds, drugs))


@dataclass
class EnsembleScorer:
    """Same interface as `EmbeddingScorer` (`pairs`, `matrix`); z-statistics over `cand_drugs`."""

    gnn: EmbeddingScorer
    distmult: DistMultModel
    prior: DegreePrior
    weights: np.ndarray  # over COMPONENTS, sums to 1
    beta: float
    cand_drugs: np.ndarray

    def _parts(self, diseases: np.ndarray, drugs: np.ndarray) -> list[np.ndarray]:
        return [self.gnn.matrix(diseases, drugs), self.distmult.matrix(diseases, drugs),
                _log_prior(self.prior)(diseases, drugs)]

    def matrix(self, diseases: np.ndarray, cand_drugs: np.ndarray) -> np.ndarray:
        """len(diseases) × len(cand_drugs) scores, z-statistics per disease over `self.cand_drugs`."""
        diseases = np.asarray(diseases)
        full = self._combine(diseases, self._parts(diseases, self.cand_drugs))
        if np.array_equal(cand_drugs, self.cand_drugs):
            return full
        col = {int(d): j for j, d in enumerate(self.cand_drugs)}
        if all(int(d) in col for d in cand_drugs):
            return full[:, [col[int(d)] for d in cand_drugs]]
        raise ValueError("ensemble scores are defined for the run's candidate drugs only")

    def _combine(self, diseases: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
        out = sum(w * _zrows(p) for w, p in zip(self.weights, parts, strict=True) if w)
        out = out if isinstance(out, np.ndarray) else np.zeros((len(diseases), len(self.cand_drugs)))
        return out + self.beta * np.log1p(self.prior.deg_dis[diseases])[:, None]

    def pairs(self, drugs: np.ndarray, diseases: np.ndarray) -> np.ndarray:
        uniq, inv = np.unique(np.asarray(diseases), return_inverse=True)
        m = self.matrix(uniq, self.cand_drugs)
        col = {int(d): j for j, d in enumerate(self.cand_drugs)}
        return np.array([m[i, col[int(d)]] for d, i in zip(np.asarray(drugs), inv, strict=True)])

    def save(self, path: Path) -> Path:
        np.savez_compressed(path, dm_drug=self.distmult.drug, dm_disease=self.distmult.disease,
                            dm_rel=self.distmult.rel, deg_drug=self.prior.deg_drug, deg_dis=self.prior.deg_dis,
                            weights=self.weights, beta=np.array([self.beta]), cand_drugs=self.cand_drugs)
        return path

    @classmethod
    def load(cls, path: Path, gnn: EmbeddingScorer) -> EnsembleScorer:
        with np.load(path) as z:
            return cls(gnn=gnn, distmult=DistMultModel(z["dm_drug"], z["dm_disease"], z["dm_rel"], 0.0),
                       prior=DegreePrior(z["deg_drug"], z["deg_dis"]), weights=z["weights"],
                       beta=float(z["beta"][0]), cand_drugs=z["cand_drugs"])


def simplex_grid(step: float = 0.05) -> list[np.ndarray]:
    n = round(1 / step)
    return [np.array([i, j, n - i - j]) / n for i in range(n + 1) for j in range(n + 1 - i)]


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


def fit_ensemble(gnn: EmbeddingScorer, distmult: DistMultModel, prior: DegreePrior, val: np.ndarray,
                 val_neg: np.ndarray, cand_drugs: np.ndarray, known: np.ndarray, step: float = 0.05
                 ) -> tuple[EnsembleScorer, dict]:
    """Weights by validation MRR + Hits@10 with AUROC(all) ≥ floor, then β by sampled validation AUROC."""
    base = EnsembleScorer(gnn, distmult, prior, np.array([1.0, 0.0, 0.0]), 0.0, cand_drugs)
    diseases = np.unique(val[1])
    z = [_zrows(p) for p in base._parts(diseases, cand_drugs)]
    row = {int(x): r for r, x in enumerate(diseases)}
    grid = simplex_grid(step)
    metrics = []
    for w in grid:
        mat = sum(wi * zi for wi, zi in zip(w, z, strict=True))
        metrics.append(rank_metrics(val, lambda ds, mat=mat: mat[[row[int(x)] for x in ds]], cand_drugs, known))
    i_best = _select(metrics)
    i_gnn = next(i for i, w in enumerate(grid) if w[0] == 1.0)
    best_w, best_m = grid[i_best], metrics[i_best]
    best_obj, gnn_obj = objective(best_m), objective(metrics[i_gnn])
    base.weights = best_w
    y = np.r_[np.ones(val.shape[1]), np.zeros(val_neg.shape[1])]
    best_auc = -np.inf
    for beta in BETAS:
        cand = EnsembleScorer(gnn, distmult, prior, best_w, beta, cand_drugs)
        auc = roc_auc_score(y, np.r_[cand.pairs(val[0], val[1]), cand.pairs(val_neg[0], val_neg[1])])
        if auc > best_auc + 1e-12:
            best_auc, base.beta = auc, beta
    info = {"weights": dict(zip(COMPONENTS, map(float, best_w), strict=True)), "beta": base.beta,
            "val_objective": float(best_obj), "val_objective_gnn": float(gnn_obj), "val_auroc_sampled": best_auc,
            "val_auroc_full": float(best_m["auroc_full"]), "val_mrr": float(best_m["mrr"]),
            "val_hits@10": float(best_m["hits@10"]),
            "objective": f"validation MRR + Hits@10 subject to validation AUROC(all) >= {MIN_AUROC_FULL}; "
                         "beta by sampled validation AUROC",
            "better_than_gnn": bool(i_best != i_gnn)}
    return base, info
