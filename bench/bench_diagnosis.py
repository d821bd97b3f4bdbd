"""Benchmark diagnosis: single-patient latency (p50/p99) and batch throughput, model vs graph baseline.

Usage: .venv/bin/python bench/bench_diagnosis.py [--patients 300] [--repeats 5] [--threads 1] [--json]
Figures are medians over repeats; the graph baseline (naive Bayes over the links, same parsing and the
same evidence explanation) is measured in the same run. Needs a trained run (`medkg train diagnosis`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from gnn.diagnosis.findings import parse_patient
from gnn.diagnosis.knowledge import default_knowledge
from gnn.diagnosis.patients import read_patients, sample_path
from gnn.pipeline.registry import get_family


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs) * 1000.0, q))


def single_latency(fn, patients, repeats: int) -> dict[str, float]:
    p50s, p99s = [], []
    for _ in range(repeats):
        times = []
        for p in patients:
            t = time.perf_counter()
            fn(p)
            times.append(time.perf_counter() - t)
        p50s.append(_pct(times, 50))
        p99s.append(_pct(times, 99))
    return {"p50_ms": statistics.median(p50s), "p99_ms": statistics.median(p99s)}


def batch_throughput(fn, path: Path, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        n = fn(path)
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=300, help="patients timed one by one per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    kb = default_knowledge()
    diagnoser = get_family("diagnosis").load()
    rows = read_patients(sample_path(), kb)
    inputs = [(r.patient.age, r.patient.sex, r.patient.tokens) for r in rows[: args.patients]]

    def model_one(x):
        return diagnoser.diagnose(*x)

    def graph_one(x):
        patient = parse_patient(*x, kb)
        probs = diagnoser.graph.predict_proba([patient.evidences])[0]
        return diagnoser.explain(patient, probs)

    def write(pathologies, probs) -> list[str]:
        out = []
        for p in probs:
            order = p.argsort(kind="stable")[::-1]
            out.append(json.dumps({"ranked": [{"disease": pathologies[j], "probability": float(p[j])}
                                              for j in order]}))
        return out

    def model_batch(path: Path) -> int:
        pts = [r.patient for r in read_patients(path, kb)]
        return len(write(kb.pathologies, diagnoser.predict_proba(pts)))

    def graph_batch(path: Path) -> int:
        pts = [r.patient for r in read_patients(path, kb)]
        return len(write(kb.pathologies, diagnoser.graph.predict_proba([p.evidences for p in pts])))

    for x in inputs[:20]:  # warm-up
        model_one(x)
        graph_one(x)
    model_lat = single_latency(model_one, inputs, args.repeats)
    graph_lat = single_latency(graph_one, inputs, args.repeats)
    model_tp = batch_throughput(model_batch, sample_path(), args.repeats)
    graph_tp = batch_throughput(graph_batch, sample_path(), args.repeats)
    res = {
        "patients_single": len(inputs), "patients_batch": len(rows), "repeats": args.repeats,
        "threads": args.threads,
        "single": {"attention+graph": model_lat, "graph_baseline": graph_lat,
                   "p50_ratio_vs_graph": model_lat["p50_ms"] / graph_lat["p50_ms"]},
        "batch_patients_per_s": {"attention+graph": model_tp, "graph_baseline": graph_tp,
                                 "ratio_vs_graph": model_tp / graph_tp},
    }
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        s, b = res["single"], res["batch_patients_per_s"]
        print(f"single patient ({len(inputs)} patients x {args.repeats} repeats, {args.threads} thread(s), medians):")
        for name in ("attention+graph", "graph_baseline"):
            print(f"  {name:16s} p50 {s[name]['p50_ms']:.2f} ms   p99 {s[name]['p99_ms']:.2f} ms")
        print(f"  p50 ratio model/graph: {s['p50_ratio_vs_graph']:.2f}x")
        print(f"batch ({len(rows)} patients, CSV parse + score + JSONL, medians):")
        for name in ("attention+graph", "graph_baseline"):
            print(f"  {name:16s} {b[name]:.0f} patients/s")
        print(f"  throughput ratio model/graph: {b['ratio_vs_graph']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
