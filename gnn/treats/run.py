"""`medkg train treats`: the deployed model is the evaluated recipe refitted on every known TREATS edge.

The recipe (ensemble weights, β, GNN epochs, text variant) comes from docs/results/treats.json, written by
`medkg evaluate treats` from validation choices; nothing here looks at a held-out part. GNN (fixed epochs, no
early stopping: there is no held-out part left), DistMult, degree prior and the cross-fitted metapath/text
regression all see every known edge; Platt calibration by cross-fitting over those edges
(gnn.treats.recipe.crossfit_calibration). Saved through the artefact store (run.json provenance, atomic)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from neo4j import Driver

from gnn.pipeline.store import RunManifest
from gnn.treats import queries as Q
from gnn.treats.artifacts import CANDIDATES, ENSEMBLE, INDEX, METRICS, PATHS, SCORER, WEIGHTS, save_candidates, store
from gnn.treats.baselines import DegreePrior, train_distmult
from gnn.treats.ensemble import EnsembleScorer
from gnn.treats.pathmodel import fit_path_scorer
from gnn.treats.paths import PathGraph
from gnn.treats.recipe import Recipe, crossfit_calibration
from gnn.treats.scorer import scorer_from_model
from gnn.treats.split import TREATS, candidate_diseases, candidate_drugs, no_split
from gnn.treats.train import GraphInputs, TrainConfig, train_gnn
from kg.db import read
from kg.export import ExportedGraph, export_graph, save_index

CONTRA = ("Drug", "NOT_INDICATED_FOR", "Disease")


def load_graph(driver: Driver, text_property: str | None = "model_embedding",
               progress: bool = True) -> tuple[ExportedGraph, list[str]]:
    """The exported subgraph with `text_property` vectors as text features (None: no text) and the Hetionet
    disease ids (part of the candidate diseases)."""
    t0 = time.perf_counter()
    graph = export_graph(driver, text_embeddings=text_property is not None,
                         text_property=text_property or "text_embedding")
    het = read(driver, Q.HETIONET_DISEASES)[0]["ids"]
    if progress:
        import sys

        print(f"exported {sum(map(len, graph.nodes.values()))} nodes, "
              f"{sum(e.shape[1] for e in graph.edges.values())} edges ({text_property or 'no text'}) in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return graph, sorted(het)


def names_of(driver: Driver, graph: ExportedGraph, drugs: np.ndarray, diseases: np.ndarray) -> dict[str, str]:
    ids_d = [graph.nodes["Drug"][i] for i in drugs]
    ids_x = [graph.nodes["Disease"][i] for i in diseases]
    rows = read(driver, Q.DRUG_NAMES, ids=ids_d) + read(driver, Q.DISEASE_NAMES, ids=ids_x)
    return {r["id"]: r["name"] for r in rows if r["name"]}


def contraindications(graph: ExportedGraph) -> np.ndarray:
    return graph.edges.get(CONTRA, np.zeros((2, 0), dtype=np.int64))


def train_deployed(graph: ExportedGraph, hetionet_ids: list[str], config: TrainConfig, recipe: Recipe, *,
                   artifacts: Path | None = None, names: dict[str, str] | None = None, progress: bool = True,
                   family_config: dict[str, Any] | None = None) -> RunManifest:
    """Fit the recipe on every known TREATS edge, calibrate by cross-fitting, save one run; its manifest."""
    t0 = time.perf_counter()
    cand_drugs, cand_dis = candidate_drugs(graph), candidate_diseases(graph, hetionet_ids)
    known = graph.edges[TREATS]
    n_dis = len(graph.nodes["Disease"])
    everything = no_split(graph)
    cfg = TrainConfig.from_dict({**config.to_dict(), "epochs": recipe.gnn_epochs})
    use_gnn = bool(recipe.weights[0]) and recipe.gnn_epochs > 0
    trained = train_gnn(graph, everything, cand_drugs, cand_dis, cfg, validate=None, progress=progress) \
        if use_gnn else None
    inputs = GraphInputs(graph, everything, cfg.feature_dim) if trained is not None else None
    gnn = scorer_from_model(trained.model, inputs, known) if trained is not None else None
    dm = train_distmult(graph, everything, seed=config.seed)
    pgraph = PathGraph.build(graph)
    paths, paths_info = fit_path_scorer(pgraph, known, cand_drugs, cand_dis, n_dis, seed=config.seed)
    weights = np.asarray(recipe.weights, dtype=np.float64)
    ens = EnsembleScorer(gnn, dm, DegreePrior.fit(graph, known), weights, recipe.beta, cand_drugs, paths)

    def rescore(visible: np.ndarray) -> EnsembleScorer:
        g = scorer_from_model(trained.model, inputs, visible) if trained is not None else None
        return EnsembleScorer(g, dm, DegreePrior.fit(graph, visible), weights, recipe.beta, cand_drugs,
                              paths.with_visible(visible))

    calibration = crossfit_calibration(ens, known, rescore, known, cand_drugs, cand_dis, n_dis, config.seed)
    contra = contraindications(graph)
    st = store(artifacts)
    man = RunManifest(
        family="treats", model_run=st.new_run_name(config.seed, "ensemble"), artifact_format=st.artifact_format,
        seed=config.seed, build_id=graph.build_id,
        data_checksums={"treats_edges": _checksum(known), "not_indicated_for": _checksum(contra),
                        "graph_nodes": _checksum(np.array([len(v) for v in graph.nodes.values()]))},
        metrics={"known_treats": int(known.shape[1]), "calibration_a": calibration["a"],
                 "calibration_b": calibration["b"], "seconds": round(time.perf_counter() - t0, 1),
                 "seconds_gnn": round(trained.seconds, 1) if trained is not None else 0.0},
        config={"family_config": family_config or {}, "train": cfg.to_dict(), "recipe": recipe.to_dict(),
                "calibration": calibration, "paths": paths_info, "scorer": "ensemble",
                "candidates": {"drugs": len(cand_drugs), "diseases": len(cand_dis),
                               "rule": "drugs with a DrugBank id (DB#####) x (Hetionet diseases + diseases with "
                                       "TREATS)", "not_indicated_for_pairs": int(contra.shape[1])},
                "deployment": "every component fitted on every known TREATS edge with `recipe` (see its source)",
                "edge_counts": graph.num_edges(), "names": names or {}})

    def write(out, folder: Path) -> None:
        import torch  # noqa: F401  (ArtefactBatch.torch needs it)

        if trained is not None and gnn is not None:
            out.torch(folder / WEIGHTS, trained.model.state_dict())
            gnn.save(folder / SCORER)
        ens.save(folder / ENSEMBLE, folder / PATHS)
        save_index(graph, folder / INDEX)
        save_candidates(folder, cand_drugs, cand_dis, known, contra)
        out.json(folder / METRICS, {"history": trained.history if trained else [], "paths": paths_info}, indent=2)
        assert (folder / CANDIDATES).is_file()

    st.save(man, write)
    return man


def _checksum(a: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]
