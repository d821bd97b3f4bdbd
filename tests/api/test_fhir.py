"""FHIR R4 out (a stored patient as a Bundle) and in (POST /fhir/Bundle, `medkg patients import --fhir`), on the
real graph; every exported Bundle is validated with fhir.resources (R4B models)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gnn.diagnosis.knowledge import default_knowledge
from gnn.diagnosis.patients import read_patients, sample_path
from kg.db import read
from kg.settings import Settings

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def client(built_graph, settings: Settings, api_keys: dict[str, str]) -> Iterator[TestClient]:
    unlimited = settings.model_copy(update={"medkg_rate_limit": 1e6, "medkg_rate_burst": 1_000_000})
    with TestClient(create_app(unlimited), headers={"X-API-Key": api_keys["clinician"]}) as c:
        yield c


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _validated(bundle: dict):
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(bundle)


def test_synthea_patient_exports_as_valid_fhir(client: TestClient, driver) -> None:
    pid = read(driver, "MATCH (p:Patient {origin: 'synthea'})-[:TAKES]->(m:Medication)-[:CONTAINS]->(:Drug) "
                       "WITH p, count(DISTINCT m) AS n ORDER BY n DESC, p.id LIMIT 1 RETURN p.id AS id")[0]["id"]
    stored = client.get(f"/patients/{pid}").json()
    resp = client.get(f"/patients/{pid}/fhir")
    assert resp.status_code == 200, resp.text
    bundle = resp.json()
    parsed = _validated(bundle)
    assert parsed.type == "collection"
    person = _resources(bundle, "Patient")[0]
    assert person["id"] == pid and "birthDate" not in person and "name" not in person and "address" not in person
    assert person["extension"][0]["valueString"] == stored["properties"]["age_band"]
    assert person["gender"] == {"F": "female", "M": "male"}[stored["properties"]["sex"]]
    statements = _resources(bundle, "MedicationStatement")
    assert len(statements) == len(stored["medications"]) > 0
    codes = {c["system"]: c["code"] for s in statements for c in s["medicationCodeableConcept"]["coding"]}
    assert "http://www.nlm.nih.gov/research/umls/rxnorm" in codes and "https://go.drugbank.com/drugs" in codes
    assert {s["status"] for s in statements} <= {"active", "completed"}
    assert any(s["status"] == "active" for s in statements) == any(m["current"] for m in stored["medications"])
    conditions = _resources(bundle, "Condition")
    assert len(conditions) == len(stored["conditions"])
    assert all(len(c.get("onsetDateTime", "2000")) == 4 for c in conditions)  # years only, as stored
    assert any(any(x["system"] == "http://purl.obolibrary.org/obo/doid.owl" for x in c["code"]["coding"])
               for c in conditions)  # SNOMED CT conditions carry the Disease Ontology term they map to
    assert _resources(bundle, "AllergyIntolerance").__len__() == len(stored["allergies"])
    assert any(e["action"] == "patient.export_fhir" for e in client.app.state.audit.entries(pid))


def test_api_patient_exports_findings_and_differential(client: TestClient) -> None:
    row = read_patients(sample_path(), default_knowledge())[0]
    created = client.post("/patients", json={"age": 37, "sex": "male", "evidences": row.patient.tokens})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    try:
        bundle = client.get(f"/patients/{pid}/fhir").json()
        _validated(bundle)
        observations = _resources(bundle, "Observation")
        assert len(observations) == len(row.patient.tokens)
        risk = _resources(bundle, "RiskAssessment")[0]
        assert risk["method"]["text"].startswith("MedKG model prediction")
        assert "not a recorded diagnosis" in risk["note"][0]["text"]
        probs = [p["probabilityDecimal"] for p in risk["prediction"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
        assert risk["prediction"][0]["outcome"]["text"].lower().startswith("pneumonia")
        assert len(risk["basis"]) == len(observations)
    finally:
        client.delete(f"/patients/{pid}")


def test_export_of_unknown_patient_is_404(client: TestClient) -> None:
    assert client.get("/patients/P-0000000000000000/fhir").status_code == 404
