"""The evaluation protocol (docs/treats.md, "Protocol"): per seed one random TREATS split; for every text variant
(indication-free, full, none) the GNN (early stopping on validation), the cross-fitted metapath/text regression
and their ensemble (weights and β chosen on the validation edges only); the degree prior and DistMult (they read
no text) on the same training edges; all scored once on the test edges. For the recipe's variant, the ensemble
is calibrated by cross-fitting on the training edges and its probabilities are checked on the test edges."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from gnn.treats.baselines import DegreePrior, DistMultModel, train_distmult
from gnn.treats.ensemble import EnsembleScorer, fit_ensemble
from gnn.treats.metrics import link_metrics, rank_metrics, sample_negatives
from gnn.treats.pathmodel import PathScorer, fit_path_scorer
from gnn.treats.paths import PathGraph
from gnn.treats.recipe import crossfit_calibration, heldout_calibration
from gnn.treats.scorer import EmbeddingScorer, scorer_from_model
from gnn.treats.split import TREATS, TreatsSplit, pair_keys, split_treats
from gnn.treats.train import GraphInputs, TrainConfig, TrainedGNN, train_gnn
from kg.export import ExportedGraph


def validation_fn(split: TreatsSplit, cand_drugs: np.ndarray, known: np.ndarray):
    """Validation MRR (filtered, among candidate drugs) with only training TREATS edges visible."""
    def validate(model, inputs) -> float:
        sc = scorer_from_model(model, inputs, split.train)
        return rank_metrics(split.val, lambda ds: sc.matrix(ds, cand_drugs), cand_drugs, known)["mrr"]
    return validate


def metric_row(m: dict[str, float]) -> dict[str, float]:
    """link_metrics → the reported names: headline against every candidate drug, the 1:1 sampled ones after."""
    return {"auroc_all": m["auroc_full"], "mrr": m["mrr"], "hits@10": m["hits@10"], "hits@1": m["hits@1"],
            "hits@3": m["hits@3"], "auroc_sampled": m["auroc"], "auprc_sampled": m["auprc"]}


@dataclass
class VariantFit:
    """One text variant fitted on a split's training edges."""

    trained: TrainedGNN | None  # None: evaluated without the GNN (TreatsConfig.gnn False)
    inputs: GraphInputs | None
    gnn: EmbeddingScorer | None
    paths: PathScorer
    paths_info: dict
    ensemble: EnsembleScorer
    ensemble_info: dict


def fit_variant(graph: ExportedGraph, split: TreatsSplit, config: TrainConfig, dm: DistMultModel,
                prior: DegreePrior, val_neg: np.ndarray, cand_drugs: np.ndarray, cand_dis: np.ndarray,
                use_gnn: bool = True, progress: bool = True) -> VariantFit:
    known = graph.edges[TREATS]
    n_dis = len(graph.nodes["Disease"])
    trained = inputs = gnn = None
    if use_gnn:
        trained = train_gnn(graph, split, cand_drugs, cand_dis, config,
                            validate=validation_fn(split, cand_drugs, known), progress=progress)
        inputs = GraphInputs(graph, split, config.feature_dim)
        gnn = scorer_from_model(trained.model, inputs, split.train)
    paths, paths_info = fit_path_scorer(PathGraph.build(graph, split.keep), split.train, cand_drugs, cand_dis, n_dis,
                                        seed=split.seed)
    ens, info = fit_ensemble(gnn, dm, prior, split.val, val_neg, cand_drugs, known, paths=paths)
    return VariantFit(trained, inputs, gnn, paths, paths_info, ens, info)


def rescorer(fit: VariantFit, graph: ExportedGraph, dm: DistMultModel, cand_drugs: np.ndarray):
    """visible edges → the fitted ensemble with only those TREATS visible (prior, metapaths, GNN messages)."""
    def rescore(visible: np.ndarray) -> EnsembleScorer:
        e = fit.ensemble
        g = scorer_from_model(fit.trained.model, fit.inputs, visible) if fit.trained is not None else None
        return EnsembleScorer(g, dm,
                              DegreePrior.fit(graph, visible), e.weights, e.beta, cand_drugs,
                              fit.paths.with_visible(visible))
    return rescore


def evaluate_protocol(graphs: dict[str, ExportedGraph], seeds: list[int], config: TrainConfig,
                      cand_drugs: np.ndarray, cand_dis: np.ndarray, primary: str = "noind", use_gnn: bool = True,
                      progress: bool = True) -> dict[str, Any]:
    """Per seed and text variant: test metrics of ensemble/paths/GNN, the prior and DistMult; per-seed validation
    choices; held-out calibration of the primary variant. `graphs`: text variant → exported graph (same edges)."""
    g0 = graphs[primary]
    known = g0.edges[TREATS]
    n_dis = len(g0.nodes["Disease"])
    keys = pair_keys(known, n_dis)
    rows: dict[str, list[dict[str, float]]] = {}
    choices, calib_rows = [], []
    bar = tqdm(total=len(seeds) * len(graphs), desc="evaluate treats", disable=not progress)
    for seed in seeds:
        t0 = time.perf_counter()
        split = split_treats(g0, seed)
        cfg = TrainConfig.from_dict({**config.to_dict(), "seed": seed})
        prior = DegreePrior.fit(g0, split.train)
        dm = train_distmult(g0, split, seed=seed)
        test_neg = sample_negatives(keys, cand_drugs, cand_dis, n_dis, split.test.shape[1], seed=seed + 1000)
        val_neg = sample_negatives(keys, cand_drugs, cand_dis, n_dis, split.val.shape[1], seed=seed + 2000)

        def score(m, neg=test_neg, test=split.test) -> dict[str, float]:
            return metric_row(link_metrics(test, neg, m.pairs, lambda ds, m=m: m.matrix(ds, cand_drugs),
                                           cand_drugs, known))

        rows.setdefault("degree prior", []).append(score(prior))
        rows.setdefault("DistMult", []).append(score(dm))
        for variant, graph in graphs.items():
            fit = fit_variant(graph, split, cfg, dm, prior, val_neg, cand_drugs, cand_dis, use_gnn,
                              progress=False)
            suffix = "" if variant == primary else f" ({variant})"
            ens_row = score(fit.ensemble)
            if variant == primary:
                cal = crossfit_calibration(fit.ensemble, split.train, rescorer(fit, graph, dm, cand_drugs), known,
                                           cand_drugs, cand_dis, n_dis, seed)
                cal_m, (p, y, w) = heldout_calibration(fit.ensemble, cal, split.test, known, cand_drugs, cand_dis,
                                                       n_dis, seed)
                ens_row.update(brier=cal_m["brier"], ece=cal_m["ece"], brier_pos=cal_m["brier_pos"],
                               mean_prob_pos=cal_m["mean_prob_pos"])
                calib_rows.append((p, y, w))
            rows.setdefault(f"ensemble{suffix}", []).append(ens_row)
            rows.setdefault(f"paths{suffix}", []).append(score(fit.paths))
            if fit.gnn is not None:
                rows.setdefault(f"GNN{suffix}", []).append(score(fit.gnn))
            choices.append({"seed": seed, "text": variant, "weights": fit.ensemble_info["weights"],
                            "beta": fit.ensemble_info["beta"],
                            "best_epoch": fit.trained.best_epoch if fit.trained else 0,
                            "val_hits@10": fit.ensemble_info["val_hits@10"],
                            "val_mrr": fit.ensemble_info["val_mrr"],
                            "val_auroc_all": fit.ensemble_info["val_auroc_full"],
                            "paths_coef_text": fit.paths_info["coef"]["text"],
                            "gnn_seconds": round(fit.trained.seconds, 1) if fit.trained else 0.0})
            bar.update(1)
        choices[-1]["seed_seconds"] = round(time.perf_counter() - t0, 1)
    bar.close()
    return {"rows": rows, "choices": choices, "calibration": calib_rows, "split": split.sizes()}
