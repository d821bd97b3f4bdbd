"""Batch speed of `medkg predict ddi`: pairs per second through the TSV path (read, predict, write).

Run: .venv/bin/python bench/bench_ddi_predict.py [--pairs 200000] [--repeats 3] [--baseline-pairs 2000] [--json]
Needs a trained ddi run (`medkg train ddi`). Random ordered pairs of the model's drugs are written to a
temporary TSV; the timed call is `predict_file` end to end. The baseline, in the same run, scores pairs one
at a time through the same numpy model (what a per-pair loop, e.g. a naive service, would cost). Prints the
median pairs/s of each over the repeats and their ratio. Goal: >= 50,000 pairs/s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from gnn.ddi.predict_tsv import predict_file, predict_pairs
from gnn.pipeline.registry import get_family


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline-pairs", type=int, default=2000)
    ap.add_argument("--run", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rt = get_family("ddi").load(args.run)
    rng = np.random.default_rng(0)
    n = len(rt.drugs)
    a, b = rng.integers(0, n, args.pairs), rng.integers(0, n, args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.tsv", Path(tmp) / "out.tsv"
        inp.write_text("drug1\tdrug2\n" + "".join(f"{rt.drugs[i]}\t{rt.drugs[j]}\n" for i, j in zip(a, b, strict=True)))
        batch = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            predict_file(rt, inp, out)
            batch.append(args.pairs / (time.perf_counter() - t0))
    single = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for i in range(args.baseline_pairs):
            predict_pairs(rt, a[i:i + 1], b[i:i + 1])
        single.append(args.baseline_pairs / (time.perf_counter() - t0))
    res = {"model_run": rt.model_run, "pairs": args.pairs, "repeats": args.repeats,
           "batch_pairs_per_s_median": statistics.median(batch), "one_at_a_time_pairs_per_s_median":
           statistics.median(single), "ratio": statistics.median(batch) / statistics.median(single),
           "goal_pairs_per_s": 50_000}
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"medkg predict ddi (TSV in -> TSV out), {args.pairs:,} pairs, median of {args.repeats}: "
              f"{res['batch_pairs_per_s_median']:,.0f} pairs/s")
        print(f"baseline, one pair at a time (same model), {args.baseline_pairs:,} pairs: "
              f"{res['one_at_a_time_pairs_per_s_median']:,.0f} pairs/s")
        print(f"ratio batch / one at a time: {res['ratio']:.1f}x; goal >= 50,000 pairs/s: "
              f"{'met' if res['batch_pairs_per_s_median'] >= 50_000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
