"""Graph build benchmark: the online build against neo4j-admin import of the same graph.

Online: `kg.build.build` (UNWIND batches of MERGE/CREATE over Bolt) into a fresh scratch database, once
(a full build takes minutes). Reference: the same nodes and relationships (the same GraphBatch, written by
kg.bulk as import CSVs) loaded with `neo4j-admin database import full` into another fresh database,
`--repeats` times (median). Prints both and the ratio online/bulk; the goal is within 3x.

    .venv/bin/python bench/bench_build.py [--data-dir DIR] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kg import bulk, loader
from kg.build import ADAPTERS, build, collect
from kg.server import Neo4jServer
from kg.settings import get_settings
from kg.stats import graph_stats

PASSWORD = "bench-pass-12345"


def _server(root: Path, name: str) -> Neo4jServer:
    s = get_settings()
    return Neo4jServer(home=root / name, lib=s.neo4j_lib, bolt_port=0, http_port=0, password=PASSWORD,
                       heap=s.neo4j_heap, pagecache=s.neo4j_pagecache)


def _driver(server: Neo4jServer):
    from neo4j import GraphDatabase

    return GraphDatabase.driver(f"bolt://127.0.0.1:{server.bolt_port}", auth=("neo4j", PASSWORD),
                                notifications_min_severity="OFF")


def run(data_dir: Path, repeats: int) -> dict:
    sources = list(ADAPTERS)
    root = Path(tempfile.mkdtemp(prefix="medkg-bench-"))
    online_srv, bulk_srv = _server(root, "online"), _server(root, "bulk")
    try:
        # 1. online build into a fresh database
        online_srv.start()
        with _driver(online_srv) as drv:
            result = build(drv, data_dir, database="neo4j", report_root=root / "builds", sources=sources)
        online_srv.stop()
        n_nodes = sum(result.counts["nodes"].values())
        n_rels = sum(result.counts["relationships"].values())
        sec = result.seconds
        # 2. the same batch as import CSVs, loaded into another fresh database
        t0 = time.perf_counter()
        batch = collect(data_dir, sources, progress=False)
        t_read = time.perf_counter() - t0
        assert batch.counts() == result.counts, "collect is deterministic"
        t0 = time.perf_counter()
        files = bulk.write_import_files(batch, result.build_id, root / "csv")
        t_csv = time.perf_counter() - t0
        bulk_srv.start()  # initialise the home (conf, system database), then stop for the import
        bulk_srv.stop()
        imports = []
        for i in range(repeats):
            imports.append(bulk.run_import(bulk_srv, files, "neo4j"))
            print(f"import {i + 1}/{repeats}: {imports[-1]:.1f} s", file=sys.stderr)
        bulk_srv.start()
        with _driver(bulk_srv) as drv:
            t0 = time.perf_counter()
            bulk.apply_fixups(drv, files, "neo4j", batch.schema)
            loader.ensure_schema(drv, batch.schema, "neo4j")
            t_post = time.perf_counter() - t0
            st = graph_stats(drv, database="neo4j")
        bulk_srv.stop()
        same = st["nodes"] == result.counts["nodes"] and st["relationships"] == result.counts["relationships"]
        t_import = statistics.median(imports)
        online_load = sec["write"] + sec["cleanup"]
        bulk_load = t_csv + t_import + t_post
        return {
            "nodes": n_nodes, "relationships": n_rels,
            "online": {"read_s": sec["read"], "write_s": sec["write"], "cleanup_s": sec["cleanup"],
                       "total_s": sec["total"], "rels_per_s_write": round(n_rels / sec["write"]),
                       "elements_per_s_write": round((n_nodes + n_rels) / sec["write"])},
            "bulk": {"read_s": round(t_read, 2), "csv_s": round(t_csv, 2), "import_s": [round(x, 2) for x in imports],
                     "import_median_s": round(t_import, 2), "fixups_and_schema_s": round(t_post, 2),
                     "load_s": round(bulk_load, 2), "rels_per_s_import": round(n_rels / t_import),
                     "same_counts": same},
            "ratio_online_over_bulk": {"load": round(online_load / bulk_load, 2),
                                       "write_vs_import": round(sec["write"] / t_import, 2)},
        }
    finally:
        for s in (online_srv, bulk_srv):
            s.stop()
        shutil.rmtree(root, ignore_errors=True)


def _text(r: dict) -> str:
    o, b, q = r["online"], r["bulk"], r["ratio_online_over_bulk"]
    return "\n".join([
        f"graph: {r['nodes']:,} nodes, {r['relationships']:,} relationships",
        f"online build : read {o['read_s']} s, write {o['write_s']} s, cleanup {o['cleanup_s']} s, "
        f"total {o['total_s']} s; {o['rels_per_s_write']:,} rels/s during write",
        f"bulk import  : csv {b['csv_s']} s, import median {b['import_median_s']} s (runs {b['import_s']}), "
        f"fixups+schema {b['fixups_and_schema_s']} s; load {b['load_s']} s; {b['rels_per_s_import']:,} rels/s "
        f"(same counts: {b['same_counts']})",
        f"ratio online/bulk: load {q['load']}x (write+cleanup vs csv+import+schema), "
        f"write vs import {q['write_vs_import']}x (goal: within 3x)",
    ])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--repeats", type=int, default=3, help="import repetitions (median)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result = run((args.data_dir or get_settings().medkg_data_dir).resolve(), args.repeats)
    print(json.dumps(result, indent=2) if args.json else _text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
