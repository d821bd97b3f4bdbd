"""Write a GraphBatch to Neo4j: constraints first, then nodes, then relationships, in UNWIND batches.

Idempotent and resumable: nodes MERGE on `id`, relationships MERGE on their endpoints (and `source`,
`fact_key` for per-source types); every element is stamped with the build id, and elements of earlier
builds that this build did not produce are deleted at the end, so a crashed or repeated build ends
with exactly the graph of its inputs. Elements without a `build_id` (patients created through the API,
predictions, images) are never touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from neo4j import Driver
from tqdm import tqdm

from kg.records import GraphBatch
from kg.schema import Schema

BATCH = 10_000


def ensure_schema(driver: Driver, schema: Schema, database: str) -> None:
    for stmt in schema.constraint_statements() + schema.index_statements():
        driver.execute_query(stmt, database_=database)
    driver.execute_query("CALL db.awaitIndexes(300)", database_=database)


def _chunks(rows: list, size: int) -> Iterable[list]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _node_groups(batch: GraphBatch) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (label, node_id), props in batch.nodes.items():
        spec = batch.schema.labels[label]
        row = dict(props)
        if spec.provenance:
            row.update(batch.node_prov[(label, node_id)].as_props())
        groups[label].append({"id": node_id, "props": row})
    return groups


def _edge_groups(batch: GraphBatch) -> dict[tuple[str, str, str, bool], list[dict[str, Any]]]:
    groups: dict[tuple[str, str, str, bool], list[dict[str, Any]]] = defaultdict(list)
    for key, props in batch.edges.items():
        rel, start, end, source, fact_key = key
        per_source = bool(source)
        row = dict(props)
        row.update(batch.edge_prov[key].as_props())
        if per_source:
            row["fact_key"] = fact_key
        groups[(rel, start[0], end[0], per_source)].append(
            {"s": start[1], "t": end[1], "source": source, "fact_key": fact_key, "props": row})
    return groups


def write_batch(driver: Driver, batch: GraphBatch, build_id: str, database: str, *,
                progress: bool = True, on_chunk: Callable[[], None] | None = None,
                timings: dict[str, float] | None = None) -> dict[str, int]:
    """Write nodes then relationships; returns rows written per label/type (seconds into `timings`)."""
    import time

    timings = timings if timings is not None else {}
    schema = batch.schema
    written: dict[str, int] = {}
    nodes = _node_groups(batch)
    edges = _edge_groups(batch)
    total = sum(len(v) for v in nodes.values()) + sum(len(v) for v in edges.values())
    bar = tqdm(total=total, desc="loading", unit="rec", disable=not progress, mininterval=1.0)
    for label, rows in sorted(nodes.items()):
        lab = schema.check_label(label)
        records, _, _ = driver.execute_query(f"MATCH (n:{lab}) RETURN n LIMIT 1", database_=database)
        verb = "MERGE" if records else "CREATE"
        query = (f"UNWIND $rows AS row {verb} (n:{lab} {{id: row.id}}) "
                 f"SET n += row.props, n.build_id = $build")
        t0 = time.perf_counter()
        _write_rows(driver, query, rows, build_id, database, bar, on_chunk)
        written[label] = len(rows)
        timings[label] = round(time.perf_counter() - t0, 2)
    for (rel, s_label, t_label, per_source), rows in sorted(edges.items()):
        r, s, t = schema.check_rel(rel), schema.check_label(s_label), schema.check_label(t_label)
        sources = sorted({row["source"] for row in rows}) if per_source else []
        # A group with no relationship in the database yet is created outright (fresh build, fast);
        # otherwise merged (re-run or resumed build), so the result is the same either way.
        verb = "CREATE" if _group_is_empty(driver, database, r, s, t, sources) else "MERGE"
        merge = f"[r:{r} {{source: row.source, fact_key: row.fact_key}}]" if per_source else f"[r:{r}]"
        query = (f"UNWIND $rows AS row MATCH (a:{s} {{id: row.s}}) MATCH (b:{t} {{id: row.t}}) "
                 f"{verb} (a)-{merge}->(b) SET r += row.props, r.build_id = $build")
        t0 = time.perf_counter()
        _write_rows(driver, query, rows, build_id, database, bar, on_chunk)
        written[rel] = written.get(rel, 0) + len(rows)
        name = f"{s_label}-{rel}-{t_label}" + (f"[{verb}]" if verb == "MERGE" else "")
        timings[name] = round(time.perf_counter() - t0, 2)
    bar.close()
    return written


def _write_rows(driver: Driver, query: str, rows: list, build_id: str, database: str, bar: tqdm,
                on_chunk: Callable[[], None] | None) -> None:
    """Run `query` over `rows` in UNWIND batches of BATCH, advancing the progress bar."""
    for chunk in _chunks(rows, BATCH):
        driver.execute_query(query, rows=chunk, build=build_id, database_=database)
        bar.update(len(chunk))
        if on_chunk:
            on_chunk()


def _group_is_empty(driver: Driver, database: str, rel: str, s: str, t: str, sources: list[str]) -> bool:
    where = "WHERE r.source IN $sources " if sources else ""
    records, _, _ = driver.execute_query(
        f"MATCH (:{s})-[r:{rel}]->(:{t}) {where}RETURN r LIMIT 1", sources=sources, database_=database)
    return not records


def delete_stale(driver: Driver, schema: Schema, build_id: str, database: str) -> dict[str, int]:
    """Delete relationships and nodes stamped by another build (leftovers of crashed or older builds)."""
    deleted: dict[str, int] = {}
    # CALL { } IN TRANSACTIONS needs an auto-commit transaction, hence session.run.
    with driver.session(database=database) as session:
        for rel in sorted(schema.relationships):
            r = schema.check_rel(rel)
            summary = session.run(
                f"MATCH ()-[x:{r}]->() WHERE x.build_id IS NOT NULL AND x.build_id <> $build "
                "CALL (x) { DELETE x } IN TRANSACTIONS OF 10000 ROWS", build=build_id).consume()
            if summary.counters.relationships_deleted:
                deleted[rel] = summary.counters.relationships_deleted
        for label in sorted(schema.labels):
            if label == "Build":
                continue
            lab = schema.check_label(label)
            summary = session.run(
                f"MATCH (n:{lab}) WHERE n.build_id IS NOT NULL AND n.build_id <> $build "
                "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS", build=build_id).consume()
            if summary.counters.nodes_deleted:
                deleted[label] = summary.counters.nodes_deleted
    return deleted
