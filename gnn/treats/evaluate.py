"""One evaluation run per seed: split, GNN (selected on validation), degree prior and DistMult, test metrics."""

from __future__ import annotations

import numpy as np

from gnn.treats.baselines import DegreePrior, train_distmult
from gnn.treats.metrics import link_metrics, rank_metrics, sample_negatives, summarize
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


def test_metrics(graph: ExportedGraph, split: TreatsSplit, scorer: EmbeddingScorer, cand_drugs: np.ndarray,
                 cand_dis: np.ndarray, *, distmult: bool = True, part: str = "test") -> dict[str, dict[str, float]]:
    """Metrics of the GNN, the degree prior and (optionally) DistMult on the held-out `part`."""
    known = graph.edges[TREATS]
    n_dis = len(graph.nodes["Disease"])
    held = getattr(split, part)
    neg = sample_negatives(pair_keys(known, n_dis), cand_drugs, cand_dis, n_dis, held.shape[1], seed=split.seed + 1000)
    out = {"gnn": link_metrics(held, neg, scorer.pairs, lambda ds: scorer.matrix(ds, cand_drugs), cand_drugs, known)}
    prior = DegreePrior.fit(graph, split.train)
    out["degree_prior"] = link_metrics(held, neg, prior.pairs, lambda ds: prior.matrix(ds, cand_drugs),
                                       cand_drugs, known)
    if distmult:
        dm = train_distmult(graph, split, seed=split.seed)
        out["distmult"] = link_metrics(held, neg, dm.pairs, lambda ds: dm.matrix(ds, cand_drugs), cand_drugs, known)
    return out


def evaluate_seeds(graph: ExportedGraph, seeds: list[int], config: TrainConfig, cand_drugs: np.ndarray,
                   cand_dis: np.ndarray, progress: bool = True) -> dict:
    """Per-seed test metrics of the three models and their mean ± sd."""
    runs, val = [], []
    for seed in seeds:
        split, trained, scorer = fit_seed(graph, seed, config, cand_drugs, cand_dis, progress)
        runs.append(test_metrics(graph, split, scorer, cand_drugs, cand_dis))
        val.append({"seed": seed, "best_epoch": trained.best_epoch, "seconds": round(trained.seconds, 1),
                    "val_mrr": max((h.get("val", -1) for h in trained.history), default=None)})
    return {"seeds": seeds, "per_seed": runs, "training": val, "summary": summarize(runs),
            "split": split.sizes(), "candidates": {"drugs": len(cand_drugs), "diseases": len(cand_dis)}}
