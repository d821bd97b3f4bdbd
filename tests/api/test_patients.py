"""Patients on the real graph: create, read, diagnose by id, export, delete; audit entries; privacy rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gnn.diagnosis.knowledge import default_knowledge
from gnn.diagnosis.patients import read_patients, sample_path
from kg.db import read, write
from kg.settings import Settings

pytestmark = pytest.mark.neo4j
KEY_NAME = "test-clinician"


@pytest.fixture(scope="module")
def client(built_graph, settings: Settings, api_keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers={"X-API-Key": api_keys["clinician"]}) as c:
        yield c


@pytest.fixture(scope="module")
def sample_row():
    rows = read_patients(sample_path(), default_knowledge())
    return rows[0]  # Pneumonia, a clear case


def _audit(client: TestClient, patient_id: str) -> list[tuple[str, str | None, str | None]]:
    return [(e["action"], e["key_name"], e.get("outcome")) for e in client.app.state.audit.entries(patient_id)]


def test_patient_lifecycle_with_audit(client: TestClient, driver, sample_row) -> None:
    tokens = sample_row.patient.tokens
    resp = client.post("/patients", json={"age": 37, "sex": "male", "evidences": tokens})
    assert resp.status_code == 201, resp.text
    created = resp.json()
    pid = created["id"]
    assert re.fullmatch(r"P-[0-9a-f]{16}", pid)
    props = created["properties"]
    assert (props["age_band"], props["sex"], props["origin"]) == ("30-39", "M", "api")
    assert "build_id" not in props and "age" not in props
    assert sorted(f["code"] for f in created["findings"]) == sorted(tokens)
    valued = next(f for f in created["findings"] if f["code"] == "E_54_@_V_179")
    assert (valued["evidence"], valued["value"]) == ("E_54", "V_179")

    # stored as (:Patient)-[:REPORTS {value}]->(:Evidence), without build_id so that builds keep it
    rows = read(driver, "MATCH (p:Patient {id: $id})-[r:REPORTS]->(e:Evidence) "
                "RETURN e.id AS e, r.value AS v, r.build_id AS b, p.build_id AS pb", id=pid)
    assert len(rows) == len(tokens) and all(r["b"] is None and r["pb"] is None for r in rows)
    assert {"e": "E_54", "v": "V_179", "b": None, "pb": None} in rows

    got = client.get(f"/patients/{pid}")
    assert got.status_code == 200 and got.json() == created

    dx = client.get(f"/patients/{pid}/diagnosis", params={"top": 3})
    assert dx.status_code == 200, dx.text
    assert dx.json()["differential"][0]["pathology"] == "Pneumonia" and dx.json()["cached"] is False
    assert client.get(f"/patients/{pid}/diagnosis", params={"top": 3}).json()["cached"] is True

    # a derived artefact: an image with its embedding, linked to the patient
    image_id = f"img-{pid}"
    write(driver, "MATCH (p:Patient {id: $id}) CREATE (p)-[:HAS_IMAGE]->(:Image {id: $img, embedding: $vec})",
          id=pid, img=image_id, vec=[0.1] * 64)

    export = client.get(f"/patients/{pid}/export")
    assert export.status_code == 200
    data = export.json()
    assert data["patient"]["id"] == pid and data["patient"]["properties"]["age_band"] == "30-39"
    types = sorted(r["type"] for r in data["relationships"])
    assert types == sorted(["REPORTS"] * len(tokens) + ["HAS_IMAGE"])
    image = next(r for r in data["relationships"] if r["type"] == "HAS_IMAGE")["target"]
    assert image["id"] == image_id and "embedding" not in image["properties"]  # vectors are not exported
    reports = next(r for r in data["relationships"] if r["type"] == "REPORTS")
    assert reports["target"]["label"] == "Evidence" and reports["target"]["properties"]["question_en"]
    assert [a["action"] for a in data["audit"]] == ["patient.create", "patient.read", "patient.diagnose",
                                                    "patient.diagnose", "patient.export"]
    assert {a["key_name"] for a in data["audit"]} == {KEY_NAME}

    deleted = client.delete(f"/patients/{pid}")
    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": pid, "relationships": len(tokens) + 1, "images": 1,
                              "cached_predictions": 1}
    left = read(driver, "OPTIONAL MATCH (p:Patient {id: $id}) OPTIONAL MATCH (i:Image {id: $img}) "
                "RETURN count(p) AS p, count(i) AS i", id=pid, img=image_id)[0]
    assert left == {"p": 0, "i": 0}
    assert read(driver, "MATCH (e:Evidence {id: 'E_91'}) RETURN count(e) AS n")[0]["n"] == 1  # targets stay
    assert not [k for k in client.app.state.diagnosis.cache if k[0] == pid]

    for method, url in (("GET", f"/patients/{pid}"), ("GET", f"/patients/{pid}/diagnosis"),
                        ("GET", f"/patients/{pid}/export"), ("DELETE", f"/patients/{pid}")):
        gone = client.request(method, url)
        assert gone.status_code == 404 and pid in gone.json()["detail"]
    assert _audit(client, pid) == [
        ("patient.create", KEY_NAME, "ok"), ("patient.read", KEY_NAME, "ok"),
        ("patient.diagnose", KEY_NAME, "ok"), ("patient.diagnose", KEY_NAME, "ok"),
        ("patient.export", KEY_NAME, "ok"), ("patient.delete", KEY_NAME, "ok"),
        ("patient.read", KEY_NAME, "not_found"), ("patient.diagnose", KEY_NAME, "not_found"),
        ("patient.export", KEY_NAME, "not_found"), ("patient.delete", KEY_NAME, "not_found")]
    entry = client.app.state.audit.entries(pid)[5]
    assert entry["role"] == "clinician" and entry["key_id"]
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None  # when, in UTC


@pytest.mark.parametrize("field", ["name", "address", "birth_date", "ssn", "Date-Of-Birth"])
def test_direct_identifiers_are_refused(client: TestClient, driver, field: str) -> None:
    before = read(driver, "MATCH (p:Patient {origin: 'api'}) RETURN count(p) AS n")[0]["n"]
    resp = client.post("/patients", json={"age": 40, "sex": "F", "evidences": ["E_91"], field: "x"})
    assert resp.status_code == 422
    detail = resp.json()["detail"][0]
    assert detail["loc"] == ["body", field] and detail["msg"].startswith(f"{field}: direct identifiers")
    assert read(driver, "MATCH (p:Patient {origin: 'api'}) RETURN count(p) AS n")[0]["n"] == before


def test_bad_patient_input_names_the_field(client: TestClient) -> None:
    resp = client.post("/patients", json={"age": 40, "sex": "F", "evidences": ["E_91", "E_9999"]})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "evidences[1]"]
    assert "'E_9999'" in resp.json()["detail"][0]["msg"]
    resp = client.post("/patients", json={"age": 40, "sex": "F", "evidences": ["E_91"], "favourite": "x"})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "favourite"]
    assert client.get("/patients/not-a-patient").status_code == 404


def test_synthea_patient_is_readable(client: TestClient, driver) -> None:
    pid = read(driver, "MATCH (p:Patient {origin: 'synthea'})-[:TAKES]->() WITH p, count(*) AS n "
               "RETURN p.id AS id ORDER BY n DESC, id LIMIT 1")[0]["id"]
    expected = read(driver, "MATCH (p:Patient {id: $id}) RETURN COUNT { (p)-[:TAKES]->() } AS t, "
                    "COUNT { (p)-[:HAS_CONDITION]->() } AS c, COUNT { (p)-[:ALLERGIC_TO]->() } AS a", id=pid)[0]
    body = client.get(f"/patients/{pid}").json()
    assert body["properties"]["origin"] == "synthea" and re.fullmatch(r"\d+-\d+|90\+", body["properties"]["age_band"])
    assert (len(body["medications"]), len(body["conditions"]), len(body["allergies"])) == (
        expected["t"], expected["c"], expected["a"])
    med = body["medications"][0]
    assert med["label"] == "Medication" and med["name"] and med["sources"] == ["synthea"]
    dx = client.get(f"/patients/{pid}/diagnosis")
    assert dx.status_code == 422 and "no reported findings" in dx.json()["detail"][0]["msg"]
    assert [a for a, _, _ in _audit(client, pid)][-2:] == ["patient.read", "patient.diagnose"]


def test_researcher_is_refused_patient_routes(client: TestClient, api_keys: dict[str, str]) -> None:
    researcher = {"X-API-Key": api_keys["researcher"]}
    for method, url in (("POST", "/patients"), ("GET", "/patients/P-0123456789abcdef"),
                        ("GET", "/patients/P-0123456789abcdef/diagnosis"),
                        ("GET", "/patients/P-0123456789abcdef/export"), ("DELETE", "/patients/P-0123456789abcdef")):
        resp = client.request(method, url, headers=researcher, json={"age": 30, "sex": "M", "evidences": ["E_91"]})
        assert resp.status_code == 403, (method, url)
        assert "researcher" in resp.json()["detail"]
