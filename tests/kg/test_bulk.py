"""`medkg kg build --bulk` (neo4j-admin import): the CSVs, and the same graph as the online build."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg.build import build
from kg.bulk import FIX, write_import_files
from kg.errors import ConfigError
from kg.records import GraphBatch
from kg.schema import get_schema
from kg.stats import graph_stats
from tests.kg.conftest import SMALL_SOURCES


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _batch(tmp_path: Path) -> GraphBatch:
    b = GraphBatch(get_schema(), tmp_path)
    b.add_node("Drug", "DB00945", {"name": 'Acetylsalicylic acid, "aspirin"', "synonyms": ["Aspirin", "a|b;c"],
                                   "resolved": True}, "drugbank")
    b.add_node("Drug", "DB00682", {"name": "Warfarin\nline two", "synonyms": [""]}, "drugbank")
    b.add_node("Disease", "DOID:9352", {"name": "type 2 diabetes mellitus"}, "disease-ontology")
    b.add_node("Symptom", "D000006", {"name": "Abdomen, Acute"}, "mesh")
    b.add_edge("PRESENTS", ("Disease", "DOID:9352"), ("Symptom", "D000006"), {"weight": 2.5}, "hsdn")
    b.add_edge("PRESENTS", ("Disease", "DOID:9352"), ("Symptom", "D000006"), {"weight": 3}, "columbia")
    b.add_edge("INTERACTS_WITH", ("Drug", "DB00945"), ("Drug", "DB00682"),
               {"severity": "Major", "atc_groups": []}, "ddinter")
    b.drop_dangling()
    return b


def test_import_csvs_are_typed_with_id_spaces_and_a_safe_delimiter(tmp_path: Path) -> None:
    files = write_import_files(_batch(tmp_path), "B1", tmp_path / "csv")
    assert files.n_nodes == 4 and files.n_relationships == 3
    assert files.array_delimiter == "\x1f"  # '|' and ';' occur in a synonym
    assert files.multiline is True
    drugs = _rows(dict(files.nodes)["Drug"])
    header = drugs[0]
    assert header[0] == "id:ID(Drug)"
    assert {"name:string", "synonyms:string[]", "sources:string[]", "licenses:string[]", "resolved:boolean",
            "build_id:string", f"{FIX}:long"} <= set(header)
    aspirin = dict(zip(header, next(r for r in drugs[1:] if r[0] == "DB00945"), strict=True))
    assert aspirin["synonyms:string[]"] == "Aspirin\x1fa|b;c"
    assert aspirin["name:string"] == 'Acetylsalicylic acid, "aspirin"'
    assert aspirin[f"{FIX}:long"] == ""  # nothing to set after the import
    # an empty list or string cannot be a CSV cell: it is set after the import
    assert files.fixups[("nodes", "Drug")] == {"0": {"synonyms": [""]}}
    assert files.fixups[("relationships", "INTERACTS_WITH")] == {"0": {"atc_groups": []}}  # fact_key "" is a cell
    rel = _rows(dict(files.relationships)["INTERACTS_WITH"])
    assert dict(zip(rel[0], rel[1], strict=True))["fact_key:string"] == ""
    assert ',""' in dict(files.relationships)["INTERACTS_WITH"].read_text()  # quoted: an empty string, not absent
    # one property with two types (int weight from Columbia, float from HSDN) splits the type's file
    presents = [p for t, p in files.relationships if t == "PRESENTS"]
    headers = sorted(tuple(_rows(p)[0]) for p in presents)
    assert len(presents) == 2
    assert {h[0] for h in headers} == {":START_ID(Disease)"} and {h[1] for h in headers} == {":END_ID(Symptom)"}
    assert sorted(c for h in headers for c in h if c.startswith("weight")) == ["weight:double", "weight:long"]


# --- against a scratch server -------------------------------------------------------------------------
def _snapshot(driver) -> tuple[dict, list]:
    nodes, _, _ = driver.execute_query(
        "MATCH (n) WHERE NOT n:Build RETURN labels(n) AS l, properties(n) AS p", database_="neo4j")
    rels, _, _ = driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN type(r) AS t, labels(a)[0] AS sl, a.id AS s, labels(b)[0] AS tl, b.id AS e, "
        "properties(r) AS p", database_="neo4j")
    node_map = {(tuple(r["l"]), r["p"]["id"]): r["p"] for r in nodes}
    rel_list = sorted((r["t"], r["sl"], r["s"], r["tl"], r["e"], json.dumps(r["p"], sort_keys=True)) for r in rels)
    return node_map, rel_list


def _without_build_id(snapshot: tuple[dict, list], build_id: str) -> tuple[dict, list]:
    nodes, rels = snapshot
    out_nodes = {}
    for key, props in nodes.items():
        assert props["build_id"] == build_id, key
        out_nodes[key] = {k: v for k, v in props.items() if k != "build_id"}
    out_rels = []
    for *head, props in rels:
        p = json.loads(props)
        assert p.pop("build_id") == build_id, head
        out_rels.append((*head, json.dumps(p, sort_keys=True)))
    return out_nodes, out_rels


@pytest.mark.neo4j
@pytest.mark.slow
def test_bulk_build_gives_the_online_graph(small_data: Path, tmp_path: Path, kg_scratch) -> None:
    from kg.db import make_driver
    from tests.conftest import scratch_settings

    with make_driver(scratch_settings(kg_scratch)) as driver:
        online = build(driver, small_data, database="neo4j", report_root=tmp_path / "builds",
                       sources=SMALL_SOURCES, progress=False)
        before = _without_build_id(_snapshot(driver), online.build_id)
        # a node no build made (an API patient) would be erased: the bulk path refuses, server untouched
        driver.execute_query("CREATE (:Patient {id: 'P-0000000000000000', origin: 'api'})", database_="neo4j")
        from kg.bulk import bulk_build

        with pytest.raises(ConfigError, match="1 nodes and 0 relationships no build made"):
            bulk_build(kg_scratch, small_data, database="neo4j", report_root=tmp_path / "b",
                       sources=SMALL_SOURCES, progress=False)
        assert kg_scratch.running_pid() is not None
        driver.execute_query("MATCH (p:Patient {id: 'P-0000000000000000'}) DELETE p", database_="neo4j")
    # the CLI path: stops the running server, imports, starts it again
    env = {**os.environ, "NEO4J_URI": f"bolt://127.0.0.1:{kg_scratch.bolt_port}",
           "NEO4J_PASSWORD": kg_scratch.password, "NEO4J_HOME": str(kg_scratch.home),
           "MEDKG_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-m", "api.cli", "kg", "build", "--bulk", "--data-dir", str(small_data),
                           "--sources", ",".join(SMALL_SOURCES), "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    bulk = json.loads(proc.stdout)
    assert bulk["counts"] == online.counts
    assert bulk["rejects"] == online.rejects and bulk["deleted_stale"] == {}
    assert bulk["build_id"] != online.build_id
    assert kg_scratch.running_pid() is not None, "the server runs again after the import"
    with make_driver(scratch_settings(kg_scratch)) as driver:
        after = _without_build_id(_snapshot(driver), bulk["build_id"])
        stats = graph_stats(driver, database="neo4j")
        builds, _, _ = driver.execute_query("MATCH (b:Build) RETURN b", database_="neo4j")
        constraints, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name", database_="neo4j")
        leftovers, _, _ = driver.execute_query(
            f"MATCH (n) WHERE n.{FIX} IS NOT NULL RETURN count(n) AS c UNION ALL "
            f"MATCH ()-[r]->() WHERE r.{FIX} IS NOT NULL RETURN count(r) AS c", database_="neo4j")
    assert after[0] == before[0]  # every node, every property (provenance too)
    assert after[1] == before[1]  # every relationship with its endpoints and properties
    assert stats["nodes"] == online.counts["nodes"] and stats["relationships"] == online.counts["relationships"]
    [b] = [r["b"] for r in builds]
    assert b["id"] == bulk["build_id"] and b["status"] == "complete" and b["method"] == "bulk"
    assert json.loads(b["counts"]) == online.counts
    assert set(json.loads(b["checksums"])) >= {"hetionet/hetionet-v1.0-nodes.tsv",
                                               "ddinter/ddinter_downloads_code_A.csv"}
    assert {"drug_id", "disease_id", "symptom_id", "build_id"} <= {r["name"] for r in constraints}
    assert [r["c"] for r in leftovers] == [0, 0]
