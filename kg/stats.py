"""Counts per node label and relationship type, straight from Neo4j, plus the last build's report."""

from __future__ import annotations

from neo4j import Driver

from kg.db import read
from kg.schema import Schema, get_schema

BY_SOURCE_LABELS = ("Drug", "Disease", "Symptom")


def graph_stats(driver: Driver, schema: Schema | None = None, database: str | None = None) -> dict:
    schema = schema or get_schema()
    nodes, rels, by_source = {}, {}, {}
    for label in sorted(schema.labels):
        lab = schema.check_label(label)
        n = read(driver, f"MATCH (n:{lab}) RETURN count(n) AS c", database)[0]["c"]
        if n and label != "Build":
            nodes[label] = n
    for rel in sorted(schema.relationships):
        r = schema.check_rel(rel)
        n = read(driver, f"MATCH ()-[x:{r}]->() RETURN count(x) AS c", database)[0]["c"]
        if n:
            rels[rel] = n
    for label in BY_SOURCE_LABELS:
        if label in nodes:
            rows = read(driver, f"MATCH (n:{label}) UNWIND coalesce(n.sources, ['(none)']) AS s "
                                "RETURN s, count(*) AS c ORDER BY s", database)
            by_source[label] = {r["s"]: r["c"] for r in rows}
    builds = read(driver, "MATCH (b:Build) RETURN b ORDER BY b.started DESC LIMIT 1", database)
    build = builds[0]["b"] if builds else None
    out = {"nodes": nodes, "relationships": rels, "nodes_by_source": by_source,
           "total_nodes": sum(nodes.values()), "total_relationships": sum(rels.values())}
    if build:
        out["build"] = {"id": build["id"], "status": build.get("status"), "finished": build.get("finished"),
                        "report_dir": build.get("report_dir")}
        out["rejects"] = build.get("rejects", 0)
        out["unresolved"] = build.get("unresolved", 0)
    else:
        out["build"] = None
        out["rejects"] = 0
        out["unresolved"] = 0
    return out


def stats_text(st: dict) -> str:
    from kg.cliutil import table

    parts = [table(sorted(st["nodes"].items()), ("label", "nodes")), "",
             table(sorted(st["relationships"].items()), ("type", "relationships")), ""]
    b = st.get("build")
    parts.append(f"build {b['id']} ({b['status']}), rejects {st['rejects']}, unresolved {st['unresolved']}"
                 if b else "no build recorded")
    return "\n".join(parts)
