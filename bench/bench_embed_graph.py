"""Whole-graph text embedding time, then vector search in Neo4j vs brute-force numpy on the same vectors.

1. `embed_graph` with force (every node of every label with a schema `text:` list re-embedded and written
   with db.create.setNodeVectorProperty): seconds and nodes/s per label. Baseline in the same run: the
   incremental re-run right after it (nothing changed: read + hash only), and the encoder alone on a
   sample of each label's texts (how much of the time is the model, how much the writes).
2. Vector search p50/p99: `db.index.vector.queryNodes` on the real `<label>_text` index (default Disease)
   against numpy over the very same vectors (bench_text.bench_vector_search), with recall@k.

    NEO4J_URI=… NEO4J_PASSWORD=… .venv/bin/python bench/bench_embed_graph.py [--labels Drug,Disease]
        [--no-embed] [--search-label Disease] [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench_text import bench_vector_search

from gnn.text.encoder import get_encoder
from gnn.text.graph import embed_graph, text_labels, text_properties
from gnn.text.nodes import node_text


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def bench_embed(driver, labels: list[str], batch: int, sample: int) -> None:
    from kg.db import read

    enc = get_encoder()
    enc.encode(["warm up"])
    print(f"== embed the graph: labels {', '.join(labels)}; load average before: {_load()}")
    full = embed_graph(driver, labels, batch=batch, progress=True, force=True, encoder=enc)
    print(f"load average after: {_load()}")
    again = embed_graph(driver, labels, batch=batch, encoder=enc)
    print(f"{'label':<11} {'nodes':>6} {'seconds':>8} {'nodes/s':>8} {'encoder-only nodes/s':>21} {'re-run s':>9}")
    for c, r in zip(full["labels"], again["labels"], strict=True):
        props = text_properties(c["label"]) or ()
        proj = "n {" + ", ".join(f".`{p}`" for p in ("id", *props)) + "}"
        rows = read(driver, f"MATCH (n:{c['label']}) RETURN {proj} AS p LIMIT $n", n=sample)
        texts = sorted((node_text(c["label"], x["p"]) for x in rows), key=len)
        t0 = time.perf_counter()
        enc.encode(texts, batch_size=64)
        enc_rate = len(texts) / max(time.perf_counter() - t0, 1e-9)
        rate = c["embedded"] / max(c["seconds"], 1e-9)
        print(f"{c['label']:<11} {c['total']:>6} {c['seconds']:>8.1f} {rate:>8.1f} {enc_rate:>21.1f} "
              f"{r['seconds']:>9.2f}")
    print(f"whole graph: {full['embedded']} nodes embedded in {full['seconds']:.1f} s "
          f"({full['embedded'] / full['seconds']:.1f} nodes/s); incremental re-run (nothing changed): "
          f"{again['embedded']} embedded in {again['seconds']:.1f} s -> x{full['seconds'] / again['seconds']:.0f} "
          f"faster")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", help="comma-separated labels to embed (default: all with a `text:` list)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--sample", type=int, default=256, help="texts per label for the encoder-only rate")
    ap.add_argument("--no-embed", action="store_true", help="only the search benchmark (graph already embedded)")
    ap.add_argument("--search-label", default="Disease")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    if not os.environ.get("NEO4J_URI") or not os.environ.get("NEO4J_PASSWORD"):
        print("set NEO4J_URI and NEO4J_PASSWORD to a Neo4j holding the built graph")
        return 1
    from kg.db import open_driver

    labels = [x.strip() for x in args.labels.split(",")] if args.labels else text_labels()
    if not args.no_embed:
        with open_driver() as driver:
            bench_embed(driver, labels, args.batch, args.sample)
    bench_vector_search(args.queries, args.k, 0, args.search_label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
