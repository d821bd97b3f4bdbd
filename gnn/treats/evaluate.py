"""One evaluation run per seed: split, GNN (selected on validation), degree prior, DistMult, the cross-fitted
metapath/text regression and their validation-weighted ensemble, test metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gnn.treats.baselines import DegreePrior, DistMultModel, train_distmult
from gnn.treats.ensemble import EnsembleScorer, fit_ensemble
from gnn.treats.metrics import link_metrics, rank_metrics, sample_negatives, summarize
from gnn.treats.pathmodel import PathScorer, fit_path_scorer
from gnn.treats.paths import PathGraph
from gnn.treats.scorer import EmbeddingScorer, scorer_from_model
from gnn.treats.split import TREATS, TreatsSplit, pair_keys, split_treats
from gnn.treats.train import TrainConfig, TrainedGNN, train_gnn
from kg.export import ExportedGraph


def validation_fn(split: TreatsSplit, cand_drugs: np.ndarray, known: np.ndarray):
    """Validation MRR (filtered, among candidate drugs) with only training TREATS edges visible."""
    def validate(model, inputs) -> float:
        sc = scorer_from_model(model, inputs, split.train)
        return rank_metrics(split.val, lambda ds: sc.matrix(ds, cand_drugs), cand_drugs, known)["mrr"]
    return validate


def fit_seed(graph: ExportedGraph, seed: int, config: TrainConfig, cand_drugs: np.ndarray, cand_dis: np.ndarray,
             progress: bool = True) -> tuple[TreatsSplit, TrainedGNN, EmbeddingScorer]:
    split = split_treats(graph, seed)
    known = graph.edges[TREATS]
    cfg = TrainConfig.from_dict({**config.to_dict(), "seed": seed})
    trained = train_gnn(graph, split, cand_drugs, cand_dis, cfg, validate=validation_fn(split, cand_drugs, known),
                        progress=progress)
    from gnn.treats.train import GraphInputs

    scorer = scorer_from_model(trained.model, GraphInputs(graph, split, cfg.feature_dim), split.train)
    return split, trained, scorer


@dataclass
class Companions:
    """The degree prior, DistMult, the metapath regression and the validation-fitted ensemble, all on the same
    training edges."""

    prior: DegreePrior
    distmult: DistMultModel | None = None
    ensemble: EnsembleScorer | None = None
    ensemble_info: dict | None = None
    paths: PathScorer | None = None
    paths_info: dict | None = None


def fit_companions(graph: ExportedGraph, split: TreatsSplit, scorer: EmbeddingScorer, cand_drugs: np.ndarray,
                   cand_dis: np.ndarray, *, distmult: bool = True) -> Companions:
    """Degree prior, DistMult, metapath regression (cross-fitted on training edges) and the ensemble (weights
    chosen on validation edges only)."""
    prior = DegreePrior.fit(graph, split.train)
    if not distmult:
        return Companions(prior)
    dm = train_distmult(graph, split, seed=split.seed)
    known = graph.edges[TREATS]
    n_dis = len(graph.nodes["Disease"])
    paths, paths_info = fit_path_scorer(PathGraph.build(graph, split.keep), split.train, cand_drugs, cand_dis,
                                        n_dis, seed=split.seed)
    val_neg = sample_negatives(pair_keys(known, n_dis), cand_drugs, cand_dis, n_dis, split.val.shape[1],
                               seed=split.seed + 2000)
    ens, info = fit_ensemble(scorer, dm, prior, split.val, val_neg, cand_drugs, known, paths=paths)
    return Companions(prior, dm, ens, info, paths, paths_info)


def test_metrics(graph: ExportedGraph, split: TreatsSplit, scorer: EmbeddingScorer, cand_drugs: np.ndarray,
                 cand_dis: np.ndarray, *, distmult: bool = True, part: str = "test",
                 companions: Companions | None = None) -> dict[str, dict[str, float]]:
    """Metrics of the ensemble, the GNN, the degree prior and DistMult on the held-out `part`."""
    comp = companions or fit_companions(graph, split, scorer, cand_drugs, cand_dis, distmult=distmult)
    known = graph.edges[TREATS]
    n_dis = len(graph.nodes["Disease"])
    held = getattr(split, part)
    neg = sample_negatives(pair_keys(known, n_dis), cand_drugs, cand_dis, n_dis, held.shape[1], seed=split.seed + 1000)
    out = {}
    models = [("ensemble", comp.ensemble), ("paths", comp.paths), ("gnn", scorer), ("degree_prior", comp.prior),
              ("distmult", comp.distmult)]
    for name, m in models:
        if m is not None:
            out[name] = link_metrics(held, neg, m.pairs, lambda ds, m=m: m.matrix(ds, cand_drugs), cand_drugs, known)
    return out


def evaluate_seeds(graph: ExportedGraph, seeds: list[int], config: TrainConfig, cand_drugs: np.ndarray,
                   cand_dis: np.ndarray, progress: bool = True) -> dict:
    """Per-seed test metrics of the five models and their mean ± sd."""
    runs, val = [], []
    for seed in seeds:
        split, trained, scorer = fit_seed(graph, seed, config, cand_drugs, cand_dis, progress)
        comp = fit_companions(graph, split, scorer, cand_drugs, cand_dis)
        runs.append(test_metrics(graph, split, scorer, cand_drugs, cand_dis, companions=comp))
        val.append({"seed": seed, "ensemble": comp.ensemble_info, "paths": comp.paths_info,
                    "val": test_metrics(graph, split, scorer, cand_drugs, cand_dis, part="val", companions=comp),
                    "best_epoch": trained.best_epoch,
                    "seconds": round(trained.seconds, 1),
                    "val_mrr": max((h.get("val", -1) for h in trained.history), default=None)})
    return {"seeds": seeds, "per_seed": runs, "training": val, "summary": summarize(runs),
            "split": split.sizes(), "candidates": {"drugs": len(cand_drugs), "diseases": len(cand_dis)}}
