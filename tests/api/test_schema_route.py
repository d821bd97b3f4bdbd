"""`GET /schema`: labels with Biolink class and id namespace, relationship types, from ontologies/schema.yaml."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from kg.schema import get_schema
from kg.settings import Settings


def test_schema_route_lists_labels_and_types(settings: Settings, api_keys: dict[str, str]) -> None:
    client = TestClient(create_app(settings))  # no lifespan: the route reads the schema file only
    assert client.get("/schema").status_code == 401
    body = client.get("/schema", headers={"X-API-Key": api_keys["researcher"]}).json()
    schema = get_schema()
    assert body["biolink_version"] == schema.biolink_version
    assert {x["label"] for x in body["labels"]} == set(schema.labels)
    symptom = next(x for x in body["labels"] if x["label"] == "Symptom")
    assert (symptom["biolink"], symptom["id_namespace"], symptom["curie_prefix"]) == (
        "biolink:PhenotypicFeature", "MeSH", "MESH:")
    reports = next(x for x in body["relationships"] if x["type"] == "REPORTS")
    assert reports["from"] == ["Patient"] and reports["patient_data"] is True
