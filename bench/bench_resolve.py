"""Drug-name lookup latency: DrugResolver.resolve / suggest (rapidfuzz) vs difflib on the same name keys.

Run: .venv/bin/python bench/bench_resolve.py [--names 300] [--repeats 5] [--json]
Queries: the DDInter drug names (real typed names; ~28% are unknown to this DrugBank, the slow path)
plus typo'd copies of them. Prints build time, median ms per lookup over repeats, and the ratio
against `difflib.get_close_matches` (the baseline) measured in the same run.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import random
import statistics
import time

from kg.resolve.drugs import DrugResolver
from kg.resolve.normalise import normalise
from kg.settings import get_settings


def _typo(name: str, rng: random.Random) -> str:
    if len(name) < 5:
        return name
    i = rng.randrange(1, len(name) - 1)
    return name[:i] + name[i + 1:]


def _median_ms(fn, queries: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for q in queries:
            fn(q)
        times.append((time.perf_counter() - t0) * 1000 / len(queries))
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--names", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    data = get_settings().medkg_data_dir
    rng = random.Random(0)

    t0 = time.perf_counter()
    drugs = DrugResolver.from_data_dir(data)
    build_s = time.perf_counter() - t0

    names: set[str] = set()
    for path in sorted((data / "ddinter").glob("ddinter_downloads_code_*.csv")):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                names.update((row["Drug_A"], row["Drug_B"]))
    sample = rng.sample(sorted(names), min(args.names, len(names)))
    queries = sample + [_typo(n, rng) for n in sample]

    drugs.suggest("warm up")
    keys = list(drugs.index._norm.keys)  # the same name keys rapidfuzz searches

    figures = {
        "build_s": round(build_s, 2),
        "queries": len(queries),
        "resolve_ms": _median_ms(drugs.resolve, queries, args.repeats),
        "suggest_ms": _median_ms(drugs.suggest, queries, args.repeats),
        "difflib_baseline_ms": _median_ms(
            lambda q: difflib.get_close_matches(normalise(q), keys, n=5, cutoff=0.5), queries[:60], 1),
    }
    figures["suggest_speedup_vs_difflib"] = round(figures["difflib_baseline_ms"] / figures["suggest_ms"], 1)
    for key in ("resolve_ms", "suggest_ms", "difflib_baseline_ms"):
        figures[key] = round(figures[key], 3)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:28s} {value}")


if __name__ == "__main__":
    main()
