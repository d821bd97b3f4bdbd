"""Text encoder and vector-search benchmark (medians; ratios against a baseline measured in the same run).

1. Encoder throughput (texts/s) on Symptom2Disease complaints at batch sizes 1, 16, 64, torch on 2
   threads; baseline = batch size 1.
2. Vector search: p50/p99 latency of db.index.vector.queryNodes (k=10) against brute-force numpy over the
   same vectors, plus the index's recall@10 against the exact answer. Needs NEO4J_URI/NEO4J_PASSWORD and
   a `<label>_text` vector index with embedded nodes; `--demo-nodes N` creates N temporary nodes
   (label BenchTxtNode, Disease Ontology names) for the run and deletes them afterwards.

    .venv/bin/python bench/bench_text.py [--texts 128] [--repeats 3] [--queries 200] [--demo-nodes 2000]
                                         [--label Disease]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

from gnn.text.encoder import get_encoder

DEMO_LABEL = "BenchTxtNode"


def bench_encoder(n_texts: int, repeats: int) -> None:
    import torch

    from gnn.text.symptom2disease import load

    texts = load().texts[:n_texts]
    enc = get_encoder()
    torch.set_num_threads(2)
    enc.encode(texts[:8])  # warm-up
    print(f"== encoder: {len(texts)} complaints (mean {np.mean([len(t) for t in texts]):.0f} chars), "
          f"torch threads {torch.get_num_threads()}, median of {repeats}")
    base = None
    for bs in (1, 16, 64):
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            enc.encode(texts, batch_size=bs)
            rates.append(len(texts) / (time.perf_counter() - t0))
        rate = statistics.median(rates)
        base = base or rate
        print(f"batch {bs:>3}: {rate:7.1f} texts/s   x{rate / base:.2f} vs batch 1")


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _demo_nodes(driver, n: int) -> None:
    from gnn.text.graph import create_vector_indexes, embed_nodes
    from gnn.text.zeroshot import read_do_terms
    from kg.db import write

    terms = sorted(read_do_terms().values(), key=lambda t: t["id"])[:n]
    rows = [{"id": f"BENCH-{t['id']}", "name": t["name"], "synonyms": t["synonyms"][:5]} for t in terms]
    write(driver, f"UNWIND $rows AS r CREATE (n:{DEMO_LABEL}) SET n = r", rows=rows)
    create_vector_indexes(driver, [DEMO_LABEL])
    t0 = time.perf_counter()
    counts = embed_nodes(driver, DEMO_LABEL, progress=True)
    print(f"demo: embedded {counts['embedded']} {DEMO_LABEL} nodes in {time.perf_counter() - t0:.1f} s "
          f"({counts['embedded'] / (time.perf_counter() - t0):.0f} nodes/s incl. writes)")


def _drop_demo(driver) -> None:
    from kg.db import write

    while write(driver, f"MATCH (n:{DEMO_LABEL}) WITH n LIMIT 5000 DETACH DELETE n RETURN count(*) AS c")[0]["c"]:
        pass
    write(driver, f"DROP INDEX {DEMO_LABEL.lower()}_text IF EXISTS")


def bench_vector_search(n_queries: int, k: int, demo_nodes: int, label: str | None = None) -> None:
    """Neo4j vector index vs numpy over the same vectors: the largest embedded index, or `label`'s."""
    print("== vector search")
    if not os.environ.get("NEO4J_URI") or not os.environ.get("NEO4J_PASSWORD"):
        print("skipped: set NEO4J_URI and NEO4J_PASSWORD to a Neo4j with embedded nodes")
        return
    from kg.db import make_driver, read

    driver = make_driver()
    try:
        if demo_nodes:
            _drop_demo(driver)
            _demo_nodes(driver, demo_nodes)
        indexes = read(driver, "SHOW VECTOR INDEXES YIELD name, labelsOrTypes, properties, state "
                               "WHERE properties = ['text_embedding'] AND state = 'ONLINE' "
                               "RETURN name, labelsOrTypes[0] AS label")
        best = None
        for ix in indexes:
            if label and ix["label"] != label:
                continue
            n = read(driver, f"MATCH (n:{ix['label']}) WHERE n.text_embedding IS NOT NULL RETURN count(n) AS c")[0]["c"]
            if n and (best is None or n > best[1]):
                best = (ix, n)
        if best is None:
            print("skipped: no online `<label>_text` vector index with embedded nodes (try --demo-nodes 2000)")
            return
        ix, n = best
        rows = read(driver, f"MATCH (n:{ix['label']}) WHERE n.text_embedding IS NOT NULL "
                            "RETURN n.id AS id, n.text_embedding AS v")
        ids = np.array([r["id"] for r in rows])
        mat = np.asarray([r["v"] for r in rows], dtype=np.float32)
        rng = np.random.default_rng(0)
        queries = mat[rng.choice(len(mat), size=n_queries, replace=len(mat) < n_queries)]
        queries = queries + rng.normal(0, 0.05, queries.shape).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        cypher = "CALL db.index.vector.queryNodes($index, $k, $vec) YIELD node, score RETURN node.id AS id"
        for q in queries[:10]:  # warm-up
            driver.execute_query(cypher, index=ix["name"], k=k, vec=q.tolist())
        neo_ms, np_ms, recall = [], [], []
        neo_hits = []
        for q in queries:  # each side in its own loop, so neither runs while the other's work is still settling
            t0 = time.perf_counter()
            recs, _, _ = driver.execute_query(cypher, index=ix["name"], k=k, vec=q.tolist())
            neo_ms.append((time.perf_counter() - t0) * 1000)
            neo_hits.append({r["id"] for r in recs})
        from threadpoolctl import threadpool_limits

        # one BLAS thread: on the shared 2-core machine, BLAS's own threads contend and a 6k x 384 mat-vec
        # takes 4-8 ms instead of 0.1 ms
        with threadpool_limits(limits=1, user_api="blas"):
            for q, got in zip(queries, neo_hits, strict=True):
                t0 = time.perf_counter()
                sims = mat @ q
                top = np.argpartition(-sims, k)[:k]
                exact = ids[top[np.argsort(-sims[top])]]
                np_ms.append((time.perf_counter() - t0) * 1000)
                recall.append(len(got & set(exact.tolist())) / k)
        print(f"index {ix['name']} ({n} vectors of {mat.shape[1]} dims), {n_queries} queries, k={k}")
        print(f"Neo4j queryNodes (incl. Bolt round trip): p50 {_pct(neo_ms, 50):.2f} ms  p99 {_pct(neo_ms, 99):.2f} ms")
        print(f"numpy brute force (in process, 1 thread): p50 {_pct(np_ms, 50):.3f} ms  p99 {_pct(np_ms, 99):.3f} ms")
        print(f"ratio Neo4j/numpy p50: x{_pct(neo_ms, 50) / _pct(np_ms, 50):.1f};  "
              f"Neo4j recall@{k} vs exact: {np.mean(recall):.3f}")
    finally:
        if demo_nodes:
            _drop_demo(driver)
        driver.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--demo-nodes", type=int, default=0)
    ap.add_argument("--skip-encoder", action="store_true")
    ap.add_argument("--label", help="benchmark this label's `<label>_text` index (default: the largest)")
    args = ap.parse_args()
    if not args.skip_encoder:
        bench_encoder(args.texts, args.repeats)
    bench_vector_search(args.queries, args.k, args.demo_nodes, args.label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
