"""Every API read and write goes through the one gateway (api/services/db.py), with the settings given to
`create_app`: a static check over api/ and behavioural checks against the test Neo4j."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.db import Gateway, run_read, run_read_records
from api.services.errors import QueryTimeout
from kg import db as kg_db
from kg.settings import Settings

API = Path(__file__).resolve().parents[2] / "api"
GATEWAY = API / "services" / "db.py"
DRIVER_CALLS = {"execute_query", "session", "begin_transaction", "verify_connectivity"}
SLOW = "UNWIND range(1, 100000000) AS x WITH x WHERE x % 7 = 0 RETURN count(x) AS n"


def bypasses(path: Path) -> list[str]:
    """Driver calls and kg.db query helpers used outside the gateway (kg.db.make_driver, the driver's
    constructor for the app's lifespan, is allowed)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "kg.db":
            out += [f"{path.name}:{node.lineno} imports kg.db.{a.name}" for a in node.names if a.name != "make_driver"]
        elif isinstance(node, ast.ImportFrom) and node.module == "neo4j":
            out += [f"{path.name}:{node.lineno} imports neo4j.{a.name}" for a in node.names
                    if a.name == "GraphDatabase"]
        elif isinstance(node, ast.Attribute) and node.attr in DRIVER_CALLS:
            out.append(f"{path.name}:{node.lineno} calls .{node.attr}")
    return out


def test_bypass_detector_sees_each_kind() -> None:
    src = ("from kg.db import read, make_driver\nfrom neo4j import GraphDatabase\n"
           "def f(driver):\n    driver.execute_query('RETURN 1')\n    with driver.session() as s:\n        pass\n")
    probe = Path(__file__).with_name("_gateway_probe.py")
    probe.write_text(src)
    try:
        found = bypasses(probe)
    finally:
        probe.unlink()
    assert [f.split(" ", 1)[1] for f in found] == ["imports kg.db.read", "imports neo4j.GraphDatabase",
                                                   "calls .execute_query", "calls .session"]


def test_only_the_gateway_touches_the_driver() -> None:
    found = [b for p in sorted(API.rglob("*.py")) if p != GATEWAY for b in bypasses(p)]
    assert found == []
    assert bypasses(GATEWAY), "the gateway itself runs the queries (the detector must see them there)"


class Recorder:
    """A QueryRunner that records what model code asks kg.db to run."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, dict]] = []

    def run_read(self, query: str, params: dict) -> list[dict]:
        self.queries.append((query, params))
        return [{"ok": 1}]

    def run_write(self, query: str, params: dict) -> list[dict]:
        self.queries.append((query, params))
        return []


def test_kg_db_hands_queries_to_a_gateway() -> None:
    rec = Recorder()
    assert kg_db.read(rec, "MATCH (n:Drug {id: $id}) RETURN n", id="DB00945") == [{"ok": 1}]
    assert kg_db.write(rec, "RETURN 1", database="ignored") == []
    assert rec.queries == [("MATCH (n:Drug {id: $id}) RETURN n", {"id": "DB00945"}), ("RETURN 1", {})]


@pytest.mark.neo4j
def test_model_code_queries_get_the_gateways_timeout(driver, settings: Settings) -> None:
    """kg.db.read (what gnn/ uses) run on a gateway carries the gateway's timeout and error mapping."""
    assert kg_db.read(Gateway(driver, settings.neo4j_database), "RETURN 41 + 1 AS n") == [{"n": 42}]
    with pytest.raises(QueryTimeout):
        kg_db.read(Gateway(driver, settings.neo4j_database, timeout=0.05), SLOW)


@pytest.mark.neo4j
def test_app_queries_use_the_database_of_the_apps_settings(settings: Settings,
                                                           admin_headers: dict[str, str]) -> None:
    """An app whose settings name a database Neo4j lacks: every query (also model code's) reports that one."""
    missing = settings.model_copy(update={"neo4j_database": "medkgnosuchdb"})
    with TestClient(create_app(missing), headers=admin_headers) as client:
        state = client.app.state
        assert state.db.database == "medkgnosuchdb"
        assert state.recommend.db is state.db and state.semantic.db is state.db
        health = client.get("/health")
        assert health.status_code == 503 and "medkgnosuchdb" in health.json()["error"], health.text
        similar = client.get("/search/similar/Disease/DOID:5844", params={"k": 3})  # semantic search: gnn.text
        assert similar.status_code == 503 and "medkgnosuchdb" in similar.text, similar.text
        entity = client.get("/entities/Drug/DB00945")
        assert entity.status_code == 503 and "medkgnosuchdb" in entity.text, entity.text


@pytest.mark.neo4j
def test_rows_equal_the_drivers_own_conversion_with_and_without_graph_values(driver, settings: Settings) -> None:
    """`run_read`'s fast row conversion must give exactly `record.data()`: plain maps, dates, and graph entities
    nested in lists and maps (which need the driver's conversion)."""
    query = """MATCH (d:Drug {id: 'DB00682'})-[r:INTERACTS_WITH]-(o:Drug)
               WITH d, r, o LIMIT 1
               RETURN d.id AS id, {n: [1, 2.5, 'x', null, true], when: date('2026-12-03')} AS plain,
                      [d, {rel: r}] AS graph, o AS node"""
    records = run_read_records(driver, settings.neo4j_database, query)
    assert len(records) == 1
    row = run_read(driver, settings.neo4j_database, query)[0]
    assert row == records[0].data()
    assert row["graph"][0]["id"] == "DB00682" and row["node"]["id"]  # nodes became property maps
    assert str(row["plain"]["when"]) == "2026-12-03"
