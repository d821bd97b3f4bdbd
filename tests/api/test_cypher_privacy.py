"""`POST /cypher` never returns patient data to a researcher (plan check + result check); admins may query it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.services import cypher as cypher_service
from api.services.cypher_privacy import (
    hidden_names,
    plan_privacy_refusal,
    value_privacy_refusal,
)
from kg.db import read
from kg.schema import get_schema

pytestmark = pytest.mark.neo4j

# Direct and indirect ways to Patient data; each answers 403 to a researcher and is never run.
LEAKS = [
    ("MATCH (p:Patient) RETURN p.age_band AS a LIMIT 5", {}),
    ("MATCH (p:`Patient`) RETURN p.sex AS s LIMIT 5", {}),
    ("MATCH (p:/* hidden */Patient) RETURN p.sex AS s LIMIT 5", {}),
    ("MATCH (p:Patient) RETURN count(p) AS n", {}),
    ("MATCH (n:Drug|Patient) RETURN n.sex AS s LIMIT 5", {}),
    ("MATCH (n:!Drug) RETURN n.sex AS s LIMIT 5", {}),
    ("MATCH (n) RETURN n LIMIT 5", {}),
    ("MATCH (n) WHERE 'Patient' IN labels(n) RETURN n.age_band AS a LIMIT 5", {}),
    ("MATCH (n) WHERE any(l IN labels(n) WHERE l STARTS WITH 'Pat') RETURN n.sex AS s LIMIT 5", {}),
    ("MATCH (n) WHERE n.id STARTS WITH 'P-' RETURN n.age_band AS a LIMIT 5", {}),
    ("MATCH (n:$($label)) RETURN n.sex AS s LIMIT 5", {"label": "Patient"}),
    ("MATCH (c:Condition)<-[:HAS_CONDITION]-(p) RETURN p.sex AS s LIMIT 5", {}),
    ("MATCH (m:Medication)<-[:TAKES]-(p) RETURN m.name AS m, count(p) AS n", {}),
    ("MATCH ()-[r:TAKES]->() RETURN count(r) AS n", {}),
    ("MATCH (e:Evidence)<-[r:REPORTS|HAS_SYMPTOM]-(x) RETURN x.sex AS s LIMIT 5", {}),
    ("MATCH (c:Condition)<-[r]-(p) RETURN p.sex AS s LIMIT 5", {}),
    ("MATCH (m:Medication)<--(p) RETURN p.age_band AS a LIMIT 5", {}),
    ("MATCH (c:Condition)<-[r]-(p) WHERE type(r) = $t RETURN p.sex AS s LIMIT 5", {"t": "HAS_CONDITION"}),
    ("MATCH (c:Condition)<-[r:!IS_A]-(p) RETURN p.sex AS s LIMIT 5", {}),
    ("MATCH (c:Condition)<-[r:$($t)]-(p) RETURN p.sex AS s LIMIT 5", {"t": "HAS_CONDITION"}),
    ("MATCH (d:Drug {id: 'DB00945'})-[*1..3]-(x) RETURN DISTINCT x.age_band AS a LIMIT 5", {}),
    ("MATCH (d:Drug {id: 'DB00945'}) ((a)--(b)){1,3} (x) RETURN x.sex AS s LIMIT 5", {}),
    ("MATCH p = shortestPath((a:Drug {id: 'DB00945'})-[*..4]-(b:Drug {id: 'DB00682'})) RETURN p", {}),
    ("MATCH (m:Medication) RETURN m.name AS m, COUNT { (m)<--() } AS takers LIMIT 5", {}),
    ("MATCH (c:Condition) RETURN c.name AS c, COUNT { (c)<-[:HAS_CONDITION]-() } AS n LIMIT 5", {}),
    ("MATCH (c:Condition) WHERE EXISTS { (c)<-[:ALLERGIC_TO]-() } RETURN c.name AS c", {}),
    ("MATCH (m:Medication)<-[r]-() RETURN count(r) AS n", {}),
    ("MATCH (n) WHERE id(n) = $i RETURN n", {"i": 0}),
    ("MATCH (n) WHERE elementId(n) = $e RETURN n.sex AS s", {"e": "4:x:0"}),
    ("MATCH ()-[r]->() WHERE elementId(r) = $e RETURN r", {"e": "5:x:0"}),
    ("CALL { MATCH (p:Patient) RETURN p } RETURN p.sex AS s LIMIT 5", {}),
    ("MATCH (c:Condition) OPTIONAL MATCH (c)<-[:ALLERGIC_TO]-(p) RETURN c.name AS c, p.sex AS s LIMIT 5", {}),
    ("UNWIND ['Patient'] AS l MATCH (n) WHERE l IN labels(n) RETURN n.sex AS s LIMIT 5", {}),
]
ALLOWED = [
    ("MATCH (n) RETURN count(n) AS n", "n"),  # whole-graph totals from the count store (aggregate)
    ("MATCH ()-[r]->() RETURN count(r) AS n", "n"),
    ("MATCH (d:Drug {id: 'DB00945'})-[r:BINDS]->(g:Gene) RETURN count(g) AS n", "n"),
    ("MATCH (d:Drug {id: 'DB00945'})-[:TREATS|PALLIATES*1..2]-(x) RETURN count(DISTINCT x) AS n", "n"),
    ("MATCH (c:Condition) RETURN count(c) AS n", "n"),
    ("MATCH (m:Medication)-[:CONTAINS]->(d:Drug) RETURN count(*) AS n", "n"),
    ("CALL db.labels() YIELD label RETURN count(label) AS n", "n"),
]


def _patient_id(driver) -> str:
    return read(driver, "MATCH (p:Patient)-[:HAS_CONDITION]->() RETURN p.id AS id ORDER BY id LIMIT 1")[0]["id"]


def test_hidden_names_follow_the_schema() -> None:
    labels, types = hidden_names()
    assert {"Patient", "Image"} <= labels and "Drug" not in labels and "Condition" not in labels
    assert {"HAS_CONDITION", "TAKES", "ALLERGIC_TO", "REPORTS", "HAS_IMAGE"} <= types
    assert "TREATS" not in types and "CONTAINS" not in types
    schema = get_schema()
    flagged = {n for n, spec in schema.labels.items() if spec.patient_data}
    flagged_types = {n for n, spec in schema.relationships.items() if spec.patient_data}
    assert labels == flagged and types == flagged_types  # the schema's flags, nothing hand-kept
    assert {"HAS_IMAGE", "SHOWS"} <= types  # a patient's images and their findings are patient data


@pytest.mark.parametrize(("query", "params"), LEAKS)
def test_researcher_refused(client: TestClient, query: str, params: dict) -> None:
    resp = client.post("/cypher", json={"query": query, "parameters": params})
    assert resp.status_code == 403, (query, resp.text)
    body = resp.json()
    assert body["detail"].startswith("refused, not executed")
    assert "rows" not in body


def test_admin_reads_patient_data(client: TestClient, admin_headers: dict[str, str], driver) -> None:
    n = client.post("/cypher", headers=admin_headers,
                    json={"query": "MATCH (p:Patient) RETURN count(p) AS n"}).json()["rows"][0]["n"]
    assert n == read(driver, "MATCH (p:Patient) RETURN count(p) AS n")[0]["n"] > 0
    pid = _patient_id(driver)
    rows = client.post("/cypher", headers=admin_headers, json={
        "query": "MATCH (p:Patient {id: $id})-[r:HAS_CONDITION]->(c) RETURN p, r, c.name AS c LIMIT 3",
        "parameters": {"id": pid}}).json()["rows"]
    assert rows and rows[0]["p"]["labels"] == ["Patient"] and rows[0]["p"]["id"] == pid
    assert rows[0]["r"]["type"] == "HAS_CONDITION"
    scan = client.post("/cypher", headers=admin_headers, json={"query": "MATCH (n) RETURN n LIMIT 2"})
    assert scan.status_code == 200 and scan.json()["row_count"] == 2


def test_admin_runs_every_leak_query(client: TestClient, admin_headers: dict[str, str]) -> None:
    """The refusals above are the privacy rule, not broken queries: an admin gets 200 for each."""
    codes = {q: client.post("/cypher", headers=admin_headers, json={"query": q, "parameters": p}).status_code
             for q, p in LEAKS}
    assert {q: c for q, c in codes.items() if c != 200} == {}


@pytest.mark.parametrize(("query", "column"), ALLOWED)
def test_researcher_graph_queries_still_served(client: TestClient, query: str, column: str) -> None:
    resp = client.post("/cypher", json={"query": query})
    assert resp.status_code == 200, resp.text
    assert resp.json()["rows"][0][column] > 0


def test_schema_visualisation_is_not_patient_data(client: TestClient) -> None:
    resp = client.post("/cypher", json={"query": "CALL db.schema.visualization() YIELD nodes RETURN size(nodes) "
                                                 "AS n"})
    assert resp.status_code == 200 and resp.json()["rows"][0]["n"] > 5


def test_patient_element_id_refused(client: TestClient, driver) -> None:
    eid = read(driver, "MATCH (p:Patient) RETURN elementId(p) AS e LIMIT 1")[0]["e"]
    resp = client.post("/cypher", json={"query": "MATCH (n) WHERE elementId(n) = $e RETURN n.sex AS s",
                                        "parameters": {"e": eid}})
    assert resp.status_code == 403 and "element id" in resp.json()["reason"]


def test_result_check_withholds_patient_nodes(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                              driver) -> None:
    """Defence in depth: with the plan check switched off, returned Patient nodes/edges/paths are still refused."""
    monkeypatch.setattr(cypher_service, "plan_privacy_refusal", lambda plan: None)
    pid = _patient_id(driver)
    for query, needle in [("MATCH (p:Patient {id: $id}) RETURN p", "a Patient node"),
                          ("MATCH (p:Patient {id: $id})-[r:HAS_CONDITION]->(c) RETURN r LIMIT 1",
                           "a HAS_CONDITION relationship"),
                          ("MATCH path = (p:Patient {id: $id})-[:HAS_CONDITION]->() RETURN [path] AS x LIMIT 1",
                           "a Patient node"),
                          ("MATCH (p:Patient {id: $id}) RETURN {who: p} AS m", "a Patient node")]:
        resp = client.post("/cypher", json={"query": query, "parameters": {"id": pid}})
        assert resp.status_code == 403, (query, resp.text)
        assert resp.json()["detail"].startswith("refused: the result holds patient data")
        assert needle in resp.json()["reason"]


def test_value_check_on_driver_values(driver) -> None:
    with driver.session() as s:
        rec = s.run("MATCH path = (p:Patient)-[r:TAKES]->(m:Medication) RETURN p, r, m, path LIMIT 1").single()
    assert value_privacy_refusal(rec["p"]) == "a Patient node"
    assert value_privacy_refusal(rec["r"]) == "a TAKES relationship"
    assert value_privacy_refusal(rec["m"]) is None
    assert value_privacy_refusal({"nested": [1, rec["path"]]}) is not None
    assert value_privacy_refusal([rec["m"], "Patient", {"label": "Patient"}]) is None


@pytest.mark.parametrize("evil", [
    "x' OR true WITH 1 AS one MATCH (p:Patient) RETURN p.age_band //",
    "DB00945'}) MATCH (p:Patient) RETURN p //",
    "`) MATCH (n) DETACH DELETE n //",
])
def test_parameters_are_inert(client: TestClient, evil: str, driver) -> None:
    patients = read(driver, "MATCH (p:Patient) RETURN count(p) AS n")[0]["n"]
    found = client.post("/cypher", json={"query": "MATCH (d:Drug) WHERE d.name = $name OR d.id = $name "
                                                  "RETURN d.id AS id", "parameters": {"name": evil}})
    assert found.status_code == 200 and found.json()["rows"] == []
    echoed = client.post("/cypher", json={"query": "RETURN $q AS q, $m.k AS k",
                                          "parameters": {"q": evil, "m": {"k": evil}}})
    assert echoed.json()["rows"] == [{"q": evil, "k": evil}]
    assert read(driver, "MATCH (p:Patient) RETURN count(p) AS n")[0]["n"] == patients


def _plan(operator: str, details: str, *children: dict) -> dict:
    return {"operatorType": f"{operator}@neo4j", "args": {"Details": details}, "children": list(children)}


@pytest.mark.parametrize(("plan", "needle"), [
    (_plan("ProduceResults", "n", _plan("AllNodesScan", "n")), "every node"),
    (_plan("Expand(All)", "(d)-[r]->(x)", _plan("NodeByLabelScan", "d:Drug")), "untyped"),
    (_plan("VarLengthExpand(All)", "(d)-[anon_0*..3]-(x)"), "untyped"),
    (_plan("Projection", "getDegree((d)--()) AS deg"), "untyped"),
    (_plan("Expand(All)", "(d)-[r:TREATS&PALLIATES]->(x)"), "type expression"),
    (_plan("Filter", "n:Drug|Patient"), "Patient"),
    (_plan("RelationshipCountFromCountStore", "count( ()-[]->(:Medication) ) AS n"), "untyped"),
    (_plan("Projection", "getDegree((d)<-[:ALLERGIC_TO]-()) AS n"), "ALLERGIC_TO"),
])
def test_plan_rules(plan: dict, needle: str) -> None:
    assert needle in (plan_privacy_refusal(plan) or "")


def test_plan_rules_allow_typed_and_totals() -> None:
    assert plan_privacy_refusal(_plan("Expand(All)", "(d)-[r:TREATS|PALLIATES*..2]->(x)",
                                      _plan("NodeByLabelScan", "d:Drug"))) is None
    assert plan_privacy_refusal(_plan("NodeCountFromCountStore", "count( () ) AS n")) is None
    assert plan_privacy_refusal(_plan("RelationshipCountFromCountStore", "count( ()-[]->() ) AS n")) is None
    assert plan_privacy_refusal(_plan("Projection", "p.name AS `p:Patient`")) is None  # an alias, not a label
