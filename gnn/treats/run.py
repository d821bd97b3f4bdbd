"""`medkg train treats`: export → split → train (selected on validation) → test metrics beside the degree prior,
DistMult and the metapath regression → ensemble weights on validation → Platt calibration on validation (of the
ensemble when it beats the GNN on validation) → deployment (GNN embeddings and metapaths with all known TREATS
visible) → save."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from neo4j import Driver

from gnn.treats import queries as Q
from gnn.treats.artifacts import (
    ARTIFACT_FORMAT,
    CONFIG,
    ENSEMBLE,
    INDEX,
    METRICS,
    PATHS,
    SCORER,
    WEIGHTS,
    mark_latest,
    runtime_info,
    save_candidates,
    treats_root,
)
from gnn.treats.baselines import DegreePrior
from gnn.treats.calibrate import calibrate_on_validation
from gnn.treats.ensemble import COMPONENTS, EnsembleScorer
from gnn.treats.evaluate import fit_companions, fit_seed, test_metrics
from gnn.treats.paths import PathGraph
from gnn.treats.scorer import scorer_from_model
from gnn.treats.split import TREATS, candidate_diseases, candidate_drugs, no_split, pair_keys
from gnn.treats.train import GraphInputs, TrainConfig
from kg.db import read
from kg.export import ExportedGraph, export_graph, save_index


def load_graph(driver: Driver, progress: bool = True) -> tuple[ExportedGraph, list[str]]:
    """The exported subgraph and the Hetionet disease ids (part of the candidate diseases)."""
    t0 = time.perf_counter()
    graph = export_graph(driver)
    het = read(driver, Q.HETIONET_DISEASES)[0]["ids"]
    if progress:
        import sys

        print(f"exported {sum(map(len, graph.nodes.values()))} nodes, "
              f"{sum(e.shape[1] for e in graph.edges.values())} edges in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
    return graph, sorted(het)


def names_of(driver: Driver, graph: ExportedGraph, drugs: np.ndarray, diseases: np.ndarray) -> dict[str, str]:
    ids_d = [graph.nodes["Drug"][i] for i in drugs]
    ids_x = [graph.nodes["Disease"][i] for i in diseases]
    rows = read(driver, Q.DRUG_NAMES, ids=ids_d) + read(driver, Q.DISEASE_NAMES, ids=ids_x)
    return {r["id"]: r["name"] for r in rows if r["name"]}


def train_run(graph: ExportedGraph, hetionet_ids: list[str], config: TrainConfig, *, out_root: Path | None = None,
              names: dict[str, str] | None = None, distmult: bool = True, progress: bool = True) -> dict:
    """Train one seed and save the run folder; returns a summary (metrics, folder, run id)."""
    t0 = time.perf_counter()
    cand_drugs, cand_dis = candidate_drugs(graph), candidate_diseases(graph, hetionet_ids)
    split, trained, scorer = fit_seed(graph, config.seed, config, cand_drugs, cand_dis, progress)
    comp = fit_companions(graph, split, scorer, cand_drugs, cand_dis, distmult=distmult)
    metrics = test_metrics(graph, split, scorer, cand_drugs, cand_dis, companions=comp)
    val_metrics = test_metrics(graph, split, scorer, cand_drugs, cand_dis, part="val", companions=comp)
    known = graph.edges[TREATS]
    n_dis = len(graph.nodes["Disease"])
    use_ensemble = comp.ensemble is not None and bool(comp.ensemble_info and comp.ensemble_info["better_than_gnn"])
    calibration = calibrate_on_validation(comp.ensemble if use_ensemble else scorer, split.val,
                                          pair_keys(known, n_dis), cand_drugs, cand_dis, n_dis, seed=config.seed)
    deploy = scorer_from_model(trained.model, GraphInputs(graph, no_split(graph), config.feature_dim), known)
    run_id = f"treats-gat-seed{config.seed}-{time.strftime('%Y%m%dT%H%M%S')}"
    folder = (out_root or treats_root()) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(trained.model.state_dict(), folder / WEIGHTS)
    deploy.save(folder / SCORER)
    if use_ensemble:
        # deployed: GNN and metapaths with every known TREATS visible, prior from every known TREATS, DistMult
        # as trained; the path regression's coefficients as cross-fitted on the training edges
        w = comp.ensemble.weights
        paths = (comp.paths.with_visible(known, PathGraph.build(graph))
                 if comp.paths is not None and w[COMPONENTS.index("paths")] else None)
        EnsembleScorer(deploy, comp.ensemble.distmult, DegreePrior.fit(graph, known), w, comp.ensemble.beta,
                       cand_drugs, paths).save(folder / ENSEMBLE, folder / PATHS)
    save_index(graph, folder / INDEX)
    save_candidates(folder, cand_drugs, cand_dis, known)
    config_doc = {
        "model_run": run_id, "artifact_format": ARTIFACT_FORMAT, "build_id": graph.build_id, **runtime_info(),
        "train": config.to_dict(),
        "best_epoch": trained.best_epoch, "seconds_train": round(trained.seconds, 1),
        "split": {**split.sizes(), "seed": split.seed, "method": "random TREATS edge split 80/10/10; val/test "
                  "removed from message passing in both directions (and their PALLIATES/NOT_INDICATED_FOR)"},
        "candidates": {"drugs": len(cand_drugs), "diseases": len(cand_dis),
                       "rule": "drugs with a DrugBank id (DB#####) x (Hetionet diseases + diseases with TREATS)"},
        "edge_counts": graph.num_edges(), "calibration": calibration,
        "scorer": "ensemble" if use_ensemble else "gnn", "ensemble": comp.ensemble_info, "paths": comp.paths_info,
        "deployment": "GNN embeddings and metapath features recomputed with every known TREATS edge visible",
        "names": names or {},
    }
    (folder / CONFIG).write_text(json.dumps(config_doc, indent=2))
    summary = {"model_run": run_id, "folder": str(folder), "build_id": graph.build_id, "seed": config.seed,
               "best_epoch": trained.best_epoch, "seconds": round(time.perf_counter() - t0, 1),
               "seconds_train": round(trained.seconds, 1), "split": split.sizes(), "test": metrics,
               "scorer": "ensemble" if use_ensemble else "gnn", "ensemble": comp.ensemble_info,
               "val": val_metrics}
    (folder / METRICS).write_text(json.dumps({**summary, "history": trained.history}, indent=2))
    mark_latest(folder)
    return summary
