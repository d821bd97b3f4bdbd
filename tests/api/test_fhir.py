"""FHIR R4 out (a stored patient as a Bundle) and in (POST /fhir/Bundle, `medkg patients import --fhir`), on the
real graph; every exported Bundle is validated with fhir.resources (R4B models)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gnn.diagnosis.knowledge import default_knowledge
from gnn.diagnosis.patients import read_patients, sample_path
from kg.adapters.synthea import pseudonym_key, pseudonymise
from kg.db import read, write
from kg.settings import Settings
from tests.api.fhir_builders import (
    medication_request,
    synthea_bundle,
    synthea_current_medications,
    synthea_rows,
)

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


PREFIX = "fhir-test-"


@pytest.fixture(scope="module")
def synthea_ids(settings: Settings) -> list[str]:
    meds = synthea_current_medications(settings.medkg_data_dir)
    allergic = {r["PATIENT"] for r in synthea_rows(settings.medkg_data_dir, "allergies.csv")}
    return sorted(p for p in meds if len(meds[p]) >= 3 and p in allergic)[:2]


@pytest.fixture
def imported_cleanup(driver) -> Iterator[list[str]]:
    ids: list[str] = []
    yield ids
    write(driver, "MATCH (p:Patient) WHERE p.id IN $ids DETACH DELETE p", ids=ids)


def _counts(driver, ids: list[str]) -> dict:
    return read(driver, "MATCH (p:Patient) WHERE p.id IN $ids OPTIONAL MATCH (p)-[r]->() "
                        "RETURN count(DISTINCT p) AS patients, count(r) AS rels, "
                        "collect([type(r), r.first_year, r.episodes, coalesce(r.current, r.active)]) AS props",
                ids=ids)[0]


def test_fhir_bundle_import_deidentified_idempotent(client: TestClient, driver, settings: Settings,
                                                    synthea_ids: list[str], imported_cleanup: list[str]) -> None:
    bundle = synthea_bundle(settings.medkg_data_dir, synthea_ids, PREFIX)
    bad = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Condition")
    bundle["entry"][bad]["resource"]["code"] = "not a CodeableConcept"
    resp = client.post("/fhir/Bundle", json=bundle)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    key = pseudonym_key()
    expected_ids = sorted(pseudonymise(PREFIX + p, key) for p in synthea_ids)
    imported_cleanup.extend(expected_ids)
    assert report["patients"] == expected_ids and report["bundles"] == 1
    assert report["ignored"] == {"Encounter": len(synthea_ids)}
    assert len(report["rejected"]) == 1
    assert report["rejected"][0]["path"] == f"entry[{bad}].resource.code"
    n_conditions = sum(e["resource"]["resourceType"] == "Condition" for e in bundle["entry"])
    assert report["imported"]["Condition"] == n_conditions - 1 and report["imported"]["Patient"] == 2
    assert report["resolution"]["medications"]["resolved"]  # Synthea's RxNorm products map to DrugBank

    rows = read(driver, "MATCH (p:Patient) WHERE p.id IN $ids RETURN properties(p) AS props", ids=expected_ids)
    people = {r["FIRST"]: r for r in synthea_rows(settings.medkg_data_dir, "patients.csv") if r["Id"] in synthea_ids}
    for row in rows:
        props = row["props"]
        assert props["origin"] == "fhir" and props["age_band"] and props["sex"] in ("M", "F")
        assert "build_id" not in props  # builds keep imported patients
        flat = json.dumps(props)
        for person in people.values():  # no name, address or birth date anywhere
            assert person["FIRST"] not in flat and person["ADDRESS"] not in flat and person["BIRTHDATE"] not in flat
    # the same medications as the CSV path: one TAKES per distinct RxNorm code
    takes = read(driver, "MATCH (p:Patient {id: $id})-[:TAKES]->(m:Medication) RETURN collect(m.id) AS codes",
                 id=pseudonymise(PREFIX + synthea_ids[0], key))[0]["codes"]
    csv_codes = {r["CODE"] for r in synthea_rows(settings.medkg_data_dir, "medications.csv")
                 if r["PATIENT"] == synthea_ids[0]}
    assert sorted(takes) == sorted(csv_codes)

    before = _counts(driver, expected_ids)
    again = client.post("/fhir/Bundle", json=bundle).json()
    assert again["patients"] == expected_ids and again["imported"] == report["imported"]
    after = _counts(driver, expected_ids)
    assert after["rels"] == before["rels"] and sorted(map(str, after["props"])) == sorted(map(str, before["props"]))

    # round trip: the imported patient exports as valid FHIR with its medications
    exported = client.get(f"/patients/{expected_ids[0]}/fhir").json()
    _validated(exported)
    assert len(_resources(exported, "MedicationStatement")) == len(csv_codes)
    assert any(e["action"] == "patient.import" for e in client.app.state.audit.entries(expected_ids[0]))


def test_fhir_bundle_errors(client: TestClient) -> None:
    resp = client.post("/fhir/Bundle", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["detail"].startswith("malformed JSON at line 1")
    resp = client.post("/fhir/Bundle", json={"resourceType": "Patient", "id": "x"})
    assert resp.status_code == 422
    assert resp.json()["detail"][0] == {"loc": ["body", "Bundle.resourceType"],
                                        "msg": "expected 'Bundle', got 'Patient'"}
    resp = client.post("/fhir/Bundle", json={"resourceType": "Bundle", "type": "document", "entry": []})
    assert resp.status_code == 422 and "expected one of batch, collection, searchset, transaction" in resp.text
    orphan = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": medication_request(
        "m1", "nobody", "314076", "lisinopril 10 MG Oral Tablet", "active")}]}
    report = client.post("/fhir/Bundle", json=orphan).json()
    assert report["patients"] == [] and report["rejected"] == [{
        "source": "request", "path": "entry[0].resource.subject",
        "reason": "refers to 'Patient/nobody', which is no Patient of this Bundle"}]


@pytest.mark.slow
def test_cli_imports_a_folder_of_bundles(settings: Settings, driver, synthea_ids: list[str], tmp_path: Path,
                                         imported_cleanup: list[str], capsys) -> None:
    from api.cli import main

    folder = tmp_path / "fhir"
    folder.mkdir()
    for pid in synthea_ids:
        (folder / f"{pid}.json").write_text(json.dumps(synthea_bundle(settings.medkg_data_dir, [pid], PREFIX,
                                                                       kind="collection")))
    (folder / "broken.json").write_text("{")
    key = pseudonym_key()
    imported_cleanup.extend(pseudonymise(PREFIX + p, key) for p in synthea_ids)
    assert main(["patients", "import", "--fhir", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bundles"] == 2 and len(report["patients"]) == 2
    assert report["rejected"][0]["path"] == "(file)" and report["rejected"][0]["source"].endswith("broken.json")
    assert _counts(driver, report["patients"])["patients"] == 2
