"""Benchmark of the treats model: export + training time on the full graph (GNN epochs, metapath regression
fit), recommendation latency p50/p99 of the default scorer (the run's, the ensemble when it has one) and of the
GNN alone, both served from precomputed rankings, vs a degree-prior ranking served the same way; the cold
scoring of one disease (what a disease outside the precomputed set costs); with Cypher explanations; memory.

    NEO4J_URI=... NEO4J_PASSWORD=... .venv/bin/python bench/bench_treats.py [--epochs 10] [--requests 500]

Needs a trained model (`medkg train treats`) for the latency part; prints medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
import tracemalloc

import numpy as np


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def bench_training(driver, epochs: int) -> dict:
    from gnn.treats.run import load_graph
    from gnn.treats.split import candidate_diseases, candidate_drugs, split_treats
    from gnn.treats.train import TrainConfig, train_gnn

    t0 = time.perf_counter()
    graph, het = load_graph(driver, progress=False)
    export_s = time.perf_counter() - t0
    split = split_treats(graph, 0)
    cfg = TrainConfig(epochs=epochs, seed=0)
    trained = train_gnn(graph, split, candidate_drugs(graph), candidate_diseases(graph, het), cfg, progress=False)
    from gnn.treats.pathmodel import fit_path_scorer
    from gnn.treats.paths import PathGraph

    t1 = time.perf_counter()
    fit_path_scorer(PathGraph.build(graph, split.keep), split.train, candidate_drugs(graph),
                    candidate_diseases(graph, het), len(graph.nodes["Disease"]), seed=0)
    paths_s = time.perf_counter() - t1
    return {"export_s": round(export_s, 2), "epochs": epochs, "train_s": round(trained.seconds, 2),
            "s_per_epoch": round(trained.seconds / epochs, 2), "paths_fit_s": round(paths_s, 2)}


def _timed(fn, items) -> dict:
    times = []
    for it in items:
        t = time.perf_counter()
        fn(it)
        times.append(time.perf_counter() - t)
    return {"n": len(times), "p50_ms": round(_pct(times, 50), 3), "p99_ms": round(_pct(times, 99), 3),
            "median_ms": round(statistics.median(times) * 1000, 3)}


def bench_latency(driver, n: int) -> dict:
    from dataclasses import replace

    from gnn.treats.artifacts import load_run
    from gnn.treats.recommend import Recommender, recommend

    tracemalloc.start()
    t0 = time.perf_counter()
    run = load_run()
    rec = Recommender(run)
    load_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # one component alone served the same way (the GNN when the run has one, else DistMult)
    gnn = getattr(run.scorer, "gnn", None) or getattr(run.scorer, "distmult", run.scorer)
    t0 = time.perf_counter()
    rec_gnn = Recommender(replace(run, scorer=gnn))
    load_gnn_s = time.perf_counter() - t0
    dis_ids = [run.index["nodes"]["Disease"][x] for x in run.cand_dis]
    rng = np.random.default_rng(0)
    asks = [dis_ids[i] for i in rng.integers(len(dis_ids), size=n)]

    # degree prior served the same way: a precomputed order per disease, top 10 read off it
    deg = np.bincount(run.known[0], minlength=len(run.index["nodes"]["Drug"]))[run.cand_drugs]
    prior_order = np.argsort(-(deg + 1), kind="stable")
    drug_ids = np.asarray(run.index["nodes"]["Drug"], dtype=object)[run.cand_drugs]

    def prior_top(_: str) -> list[str]:
        return [drug_ids[c] for c in prior_order[:10]]

    out = {"scorer": type(run.scorer).__name__, "model_run": run.model_run, "model_load_s": round(load_s, 3),
           "model_load_peak_mb": round(peak / 2**20, 1), "gnn_load_s": round(load_gnn_s, 3)}
    rows = np.asarray(run.cand_dis)[rng.integers(len(run.cand_dis), size=min(n, 100))]
    for name, fn, m in (
            ("degree_prior_rank", prior_top, n),
            ("model_rank", lambda d: recommend(rec, None, d, top=10, with_explanations=False), n),
            ("gnn_rank", lambda d: recommend(rec_gnn, None, d, top=10, with_explanations=False), n),
            ("model_cold_score", lambda x: run.scorer.matrix(np.array([x]), run.cand_drugs), len(rows)),
            ("gnn_cold_score", lambda x: gnn.matrix(np.array([x]), run.cand_drugs), len(rows)),
            ("model_rank_explained", lambda d: recommend(rec, driver, d, top=10), min(n, 100))):
        out[name] = _timed(fn, rows if "cold" in name else asks[:m])
    prior_p50 = max(out["degree_prior_rank"]["p50_ms"], 1e-6)
    out["ratio_p50_model_vs_prior"] = round(out["model_rank"]["p50_ms"] / prior_p50, 1)
    out["ratio_p50_model_vs_gnn"] = round(out["model_rank"]["p50_ms"] / max(out["gnn_rank"]["p50_ms"], 1e-6), 2)
    out["ratio_p50_cold_model_vs_gnn"] = round(out["model_cold_score"]["p50_ms"]
                                               / max(out["gnn_cold_score"]["p50_ms"], 1e-6), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=10, help="epochs for the training-time part (0 = skip)")
    ap.add_argument("--requests", type=int, default=500)
    args = ap.parse_args()
    import torch

    from kg.db import make_driver

    torch.set_num_threads(2)
    driver = make_driver()
    try:
        result = {"latency": bench_latency(driver, args.requests)}
        if args.epochs:
            result["training"] = bench_training(driver, args.epochs)
    finally:
        driver.close()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
