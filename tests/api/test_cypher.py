"""`POST /cypher`: read-only, parameters, CSV, timeout, row limit; refused statements never run."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import graph_counts

pytestmark = pytest.mark.neo4j

REFUSED = [
    "CREATE (x:Drug {id: 'DB99999', name: 'probe'})",
    "MERGE (x:Drug {id: 'DB99999'}) RETURN x",
    "MATCH (d:Drug {id: 'DB00945'}) DELETE d",
    "MATCH (d:Drug {id: 'DB00945'}) DETACH DELETE d",
    "MATCH (d:Drug {id: 'DB00945'}) SET d.name = 'probe'",
    "MATCH (d:Drug {id: 'DB00945'}) REMOVE d.name",
    "match (d:Drug) WITH d LIMIT 1 cReAtE (d)-[:TREATS]->(:Disease {id: 'DOID:0'})",
    "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row",
    "CALL dbms.listConfig()",
    "CALL dbms.security.createUser('x', 'y', false)",
    "CALL `dbms`.`listConfig`()",
    "CALL apoc.periodic.iterate('MATCH (n) RETURN n', 'DETACH DELETE n', {})",
    "RETURN apoc.version()",
    "CALL db.createLabel('Probe')",
    "CALL db.create.setNodeVectorProperty(null, 'x', [1.0])",
    "UNWIND range(1, 3) AS i CALL { WITH i MATCH (d:Drug) RETURN d LIMIT 1 } IN TRANSACTIONS RETURN i",
    "USE system SHOW USERS",
    "USE system MATCH (n) RETURN n",
    "SHOW DATABASES",
    "DROP INDEX drug_name",
    "CREATE INDEX probe IF NOT EXISTS FOR (n:Drug) ON (n.probe)",
    "FOREACH (i IN [1] | CREATE (:Drug {id: 'DB99998', name: 'x'}))",
    "MATCH (n) RETURN n // harmless\nCREATE (x:Drug {id: 'DB99997', name: 'y'})",
]


@pytest.mark.parametrize("query", REFUSED)
def test_write_and_admin_refused_and_not_executed(client, query: str) -> None:
    before = graph_counts(client)
    resp = client.post("/cypher", json={"query": query})
    assert resp.status_code == 403, resp.text
    assert resp.json()["detail"].startswith("refused, not executed")
    assert graph_counts(client) == before


def test_read_query_with_parameters(client) -> None:
    resp = client.post("/cypher", json={
        "query": "MATCH (d:Drug {id: $id})-[r:INTERACTS_WITH {source: $src}]-(o:Drug {id: $other}) "
                 "RETURN d.name AS drug, o.name AS other, r.severity AS severity",
        "parameters": {"id": "DB00682", "src": "ddinter", "other": "DB00945"}})
    assert resp.status_code == 200
    body = resp.json()
    assert body["columns"] == ["drug", "other", "severity"]
    assert body["rows"] == [{"drug": "Warfarin", "other": "Acetylsalicylic acid", "severity": "Major"}]
    assert body["query_type"] == "r"


def test_injection_through_parameters_is_inert(client) -> None:
    before = graph_counts(client)
    evil = "x'}) DETACH DELETE d //"
    resp = client.post("/cypher", json={"query": "MATCH (d:Drug) WHERE d.name = $name RETURN d.id AS id",
                                        "parameters": {"name": evil}})
    assert resp.status_code == 200 and resp.json()["rows"] == []
    echoed = client.post("/cypher", json={"query": "RETURN $name AS name", "parameters": {"name": evil}}).json()
    assert echoed["rows"] == [{"name": evil}]
    assert graph_counts(client) == before


def test_allowed_read_procedure(client) -> None:
    rows = client.post("/cypher", json={"query": "CALL db.labels() YIELD label RETURN label ORDER BY label"}).json()
    assert "Drug" in [r["label"] for r in rows["rows"]]


def test_nodes_serialised_without_vectors(client) -> None:
    row = client.post("/cypher", json={"query": "MATCH (d:Drug {id: 'DB00945'})-[r:BINDS]->(g) "
                                                "RETURN d, r LIMIT 1"}).json()["rows"][0]
    assert row["d"]["labels"] == ["Drug"] and row["d"]["id"] == "DB00945"
    assert row["r"]["type"] == "BINDS" and row["r"]["sources"] == ["hetionet"]
    assert not any("embedding" in k for k in row["d"]["properties"])


def test_csv_output(client) -> None:
    query = {"query": "MATCH (d:Drug) WHERE d.id IN ['DB00945', 'DB00682'] RETURN d.id AS id, d.name AS name "
                      "ORDER BY id"}
    by_param = client.post("/cypher", params={"format": "csv"}, json=query)
    by_header = client.post("/cypher", headers={"Accept": "text/csv"}, json=query)
    assert by_param.headers["content-type"].startswith("text/csv")
    assert by_param.text == by_header.text
    rows = list(csv.reader(io.StringIO(by_param.text)))
    assert rows == [["id", "name"], ["DB00682", "Warfarin"], ["DB00945", "Acetylsalicylic acid"]]


def test_row_limit_and_truncation(client) -> None:
    body = client.post("/cypher", json={"query": "MATCH (d:Drug) RETURN d.id AS id", "limit": 7}).json()
    assert body["row_count"] == 7 and body["truncated"] is True
    exact = client.post("/cypher", json={"query": "UNWIND range(1, 7) AS i RETURN i", "limit": 7}).json()
    assert exact["row_count"] == 7 and exact["truncated"] is False
    assert client.post("/cypher", json={"query": "RETURN 1", "limit": 5001}).status_code == 422


def test_timeout(client) -> None:
    resp = client.post("/cypher", json={
        "query": "UNWIND range(1, 2000000000) AS x WITH x WHERE x % 7 = 99 RETURN count(x)", "timeout": 0.5})
    assert resp.status_code == 504
    assert "time limit" in resp.json()["detail"]


def test_syntax_error_is_422_naming_query(client) -> None:
    resp = client.post("/cypher", json={"query": "MATCH (n RETURN n"})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "query"]


def test_integer_parameter_beyond_64_bits_is_422(client) -> None:
    resp = client.post("/cypher", json={"query": "RETURN $x AS x", "parameters": {"x": {"y": [1, 2**70]}}})
    assert resp.status_code == 422
    assert "parameters.x.y[1]" in resp.text and "64-bit" in resp.text
    ok = client.post("/cypher", json={"query": "RETURN $x AS x", "parameters": {"x": 2**63 - 1}})
    assert ok.status_code == 200
    assert ok.json()["rows"] == [{"x": 2**63 - 1}]
