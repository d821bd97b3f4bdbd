"""The treats recipe: what `medkg evaluate treats` fixes on validation edges (ensemble weights, β, GNN epochs)
and `medkg train treats` refits on every known TREATS edge; and the cross-fitted Platt calibration of both.

Fitting one recipe on a set of visible TREATS edges (`fit_components`): the GNN (early stopping on validation
when there is a validation part, else the recipe's fixed epoch count), DistMult, the degree prior and the
cross-fitted metapath/text regression, all on those edges only.

Calibration (`crossfit_calibration`): the visible edges are cut into `folds` parts; for each part the ensemble
is re-evaluated with that part hidden (degree prior, metapath features and the GNN's message passing use the
other parts; the GNN and DistMult weights are not refitted per fold: a documented shortcut), and the part's
edges against sampled unknown candidate pairs become Platt rows. Negatives are weighted so that the positive
share equals one part among every unknown pair (~10 % of the known indications missing, like a test part).
The validation edges that chose the weights are never used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gnn.pipeline.calibration import apply_platt, fit_platt
from gnn.treats.ensemble import COMPONENTS, MIN_PATHS_WEIGHT, EnsembleScorer
from gnn.treats.metrics import sample_negatives
from gnn.treats.split import pair_keys
from kg.errors import ConfigError

TEXT_VARIANTS: dict[str, str | None] = {"noind": "model_embedding", "full": "text_embedding", "none": None}
TEXT_LABELS = {"noind": "indication-free text", "full": "full text", "none": "no text"}
CALIBRATION_FOLDS = 10


@dataclass
class Recipe:
    """Ensemble weights over COMPONENTS, β, GNN epochs and the text the models read."""

    weights: list[float] = field(default_factory=lambda: [0.0, 0.3, 0.0, 0.7])
    beta: float = 0.0
    gnn_epochs: int = 0  # 0: no GNN in the recipe (its weight is 0)
    text: str = "noind"
    source: str = "built-in defaults (no evaluation results yet)"

    def __post_init__(self) -> None:
        if len(self.weights) != len(COMPONENTS) or abs(sum(self.weights) - 1) > 1e-6:
            raise ConfigError(f"recipe weights must be {len(COMPONENTS)} numbers over {COMPONENTS} summing to 1, "
                              f"got {self.weights}")
        if self.text not in TEXT_VARIANTS:
            raise ConfigError(f"recipe text {self.text!r} is not one of {', '.join(TEXT_VARIANTS)}")

    def to_dict(self) -> dict[str, Any]:
        return {"weights": dict(zip(COMPONENTS, self.weights, strict=True)), "beta": self.beta,
                "gnn_epochs": self.gnn_epochs, "text": self.text, "source": self.source}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        w = d["weights"]
        return cls(weights=[float(w[c]) for c in COMPONENTS] if isinstance(w, dict) else list(map(float, w)),
                   beta=float(d.get("beta", 0.0)), gnn_epochs=int(d.get("gnn_epochs", 0)),
                   text=str(d.get("text", "noind")), source=str(d.get("source", "")))


def recipe_from_seeds(per_seed: list[dict[str, Any]], text: str, source: str) -> Recipe:
    """One recipe from the per-seed validation choices: mean weights rounded to the 0.1 grid (paths weight kept
    ≥ MIN_PATHS_WEIGHT), median β and median best GNN epoch."""
    w = np.mean([[s["weights"][c] for c in COMPONENTS] for s in per_seed], axis=0)
    w = np.round(w * 10) / 10
    ip = COMPONENTS.index("paths")
    w[ip] = max(w[ip], MIN_PATHS_WEIGHT)
    w[ip] += 1 - w.sum()  # rounding remainder to the anchor component
    return Recipe(weights=[round(float(x), 4) for x in w], beta=float(np.median([s["beta"] for s in per_seed])),
                  gnn_epochs=int(np.median([s["best_epoch"] for s in per_seed])) if w[0] else 0, text=text,
                  source=source)


def load_recipe(results_dir=None) -> Recipe:
    """The recipe that `medkg evaluate treats` wrote into docs/results/treats.json (defaults without one)."""
    from gnn.pipeline.results import load_results

    try:
        doc = load_results("treats", results_dir)
    except ConfigError:
        return Recipe()
    rec = doc.get("notes", {}).get("recipe")
    return Recipe.from_dict(rec) if rec else Recipe()


def crossfit_calibration(ens: EnsembleScorer, visible: np.ndarray, rescore, known_all: np.ndarray,
                         cand_drugs: np.ndarray, cand_dis: np.ndarray, n_dis: int, seed: int,
                         folds: int = CALIBRATION_FOLDS, n_neg: int = 20000) -> dict[str, Any]:
    """Platt (a, b) from out-of-fold ensemble scores of the `visible` edges (see the module docstring).

    `rescore(visible_k) -> EnsembleScorer` rebuilds the ensemble with only `visible_k` visible."""
    rng = np.random.default_rng(seed + 3000)
    fold = rng.permutation(visible.shape[1]) % folds
    known_keys = pair_keys(known_all, n_dis)
    n_unknown = len(cand_drugs) * len(cand_dis) - int(np.isin(known_keys, _cand_keys(cand_drugs, cand_dis,
                                                                                       n_dis)).sum())
    neg = sample_negatives(known_keys, cand_drugs, cand_dis, n_dis, n_neg, seed + 4000)
    neg_fold = np.arange(n_neg) % folds
    pos_s, neg_s = [], []
    for k in range(folds):
        held = visible[:, fold == k]
        if held.shape[1] == 0:
            continue
        m = rescore(visible[:, fold != k])
        pos_s.append(m.pairs(held[0], held[1]))
        nk = neg[:, neg_fold == k]
        neg_s.append(m.pairs(nk[0], nk[1]))
    pos, negs = np.concatenate(pos_s), np.concatenate(neg_s)
    # positive share per fold = |part| / unknown pairs: each negative stands for folds·n_unknown/n_neg pairs
    w_neg = folds * n_unknown / n_neg
    y = np.r_[np.ones(len(pos)), np.zeros(len(negs))]
    w = np.r_[np.ones(len(pos)), np.full(len(negs), w_neg)]
    a, b = fit_platt(np.r_[pos, negs], y, w)
    return {"method": "platt", "a": a, "b": b, "folds": folds, "n_pos": len(pos), "n_neg": len(negs),
            "negative_weight": w_neg,
            "fitted_on": f"{folds}-fold cross-fitting over the visible (training) TREATS edges: each part scored "
                         "with itself hidden (prior, metapaths, GNN message passing) against sampled unknown "
                         "candidate pairs; GNN and DistMult weights not refitted per part; validation edges unused"}


def _cand_keys(cand_drugs: np.ndarray, cand_dis: np.ndarray, n_dis: int) -> np.ndarray:
    return (cand_drugs[:, None].astype(np.int64) * n_dis + cand_dis[None, :]).ravel()


def heldout_calibration(ens: EnsembleScorer, cal: dict[str, Any], held: np.ndarray, known_all: np.ndarray,
                        cand_drugs: np.ndarray, cand_dis: np.ndarray, n_dis: int, seed: int,
                        n_neg: int = 20000) -> tuple[dict[str, float], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Brier and ECE of the calibrated probabilities on held-out edges against sampled unknown candidate pairs
    (weighted to their true count, so the base rate is the real one); also the (prob, y, weight) rows."""
    from gnn.pipeline.calibration import brier, ece

    known_keys = pair_keys(known_all, n_dis)
    n_unknown = len(cand_drugs) * len(cand_dis) - int(np.isin(known_keys, _cand_keys(cand_drugs, cand_dis,
                                                                                       n_dis)).sum())
    neg = sample_negatives(known_keys, cand_drugs, cand_dis, n_dis, n_neg, seed + 5000)
    s = np.r_[ens.pairs(held[0], held[1]), ens.pairs(neg[0], neg[1])]
    p = apply_platt(s, cal["a"], cal["b"])
    y = np.r_[np.ones(held.shape[1]), np.zeros(n_neg)]
    w = np.r_[np.ones(held.shape[1]), np.full(n_neg, n_unknown / n_neg)]
    return {"brier": brier(p, y, w), "ece": ece(p, y, 10, w), "brier_pos": float(np.mean((1 - p[y == 1]) ** 2)),
            "mean_prob_pos": float(p[y == 1].mean())}, (p, y, w)
