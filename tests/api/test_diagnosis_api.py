"""`POST /diagnosis` on the real graph: a sample patient, unrecognised inputs, empty findings, free text,
roles, and start-up with a missing or corrupt model artefact."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gnn.diagnosis.knowledge import default_knowledge
from gnn.diagnosis.patients import read_patients, sample_path
from kg.settings import Settings

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def client(built_graph, settings: Settings, api_keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers={"X-API-Key": api_keys["clinician"]}) as c:
        yield c


@pytest.fixture(scope="module")
def sample_rows():
    return read_patients(sample_path(), default_knowledge())


def test_real_sample_patient_is_diagnosed_with_graph_evidence(client: TestClient, sample_rows) -> None:
    row = sample_rows[0]  # line 2: 8-year-old boy, Pneumonia (first in its reference differential too)
    assert (row.pathology, row.differential[0][0]) == ("Pneumonia", "Pneumonia")
    resp = client.post("/diagnosis", json={"age": row.patient.age, "sex": row.patient.sex,
                                           "evidences": row.patient.tokens, "top": 5})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    top = body["differential"][0]
    assert top["pathology"] == "Pneumonia" and top["rank"] == 1
    probs = [c["probability"] for c in body["differential"]]
    assert len(probs) == 5 and probs == sorted(probs, reverse=True) and 0.3 < probs[0] <= 1.0
    assert body["model"]["name"] in ("attention+graph", "graph-baseline") and body["model"]["version"]
    assert body["findings"] == row.patient.tokens and body["unrecognised"] == []
    assert top["icd10"].upper() == "J17, J18" and top["severity"] == 3
    assert {d["id"] for d in top["diseases"]} == {"DOID:552"}  # Pathology-MAPS_TO->Disease
    assert top["diseases"][0]["sources"] == ["medkg"]
    supporting = {s["evidence"] for s in top["supporting"]}
    assert supporting and supporting <= row.patient.evidences
    for ref in top["supporting"] + top["absent"]:
        edge = ref["edge"]  # every explanation rests on a Pathology-HAS_SYMPTOM/HAS_ANTECEDENT->Evidence edge
        assert edge["type"] in ("HAS_SYMPTOM", "HAS_ANTECEDENT") and edge["from"] == "Pneumonia"
        assert edge["to"] == ref["evidence"] and edge["sources"] == ["ddxplus"] and edge["licenses"] == ["CC BY 4.0"]
    assert not {a["evidence"] for a in top["absent"]} & row.patient.evidences
    fever = next(s for s in top["supporting"] if s["evidence"] == "E_91")
    assert fever["question"].startswith("Do you have a fever")


def test_unrecognised_codes_and_symptoms_are_listed(client: TestClient) -> None:
    resp = client.post("/diagnosis", json={"age": 35, "sex": "female", "evidences": ["E_91", "E_9999", "E_54_@_V_999"],
                                           "symptoms": ["sore throat", "D005334", "blorptitis", "D999999"]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [(u["input"], u["field"]) for u in body["unrecognised"]] == [
        ("E_9999", "evidences[1]"), ("E_54_@_V_999", "evidences[2]"),
        ("blorptitis", "symptoms[2]"), ("D999999", "symptoms[3]")]
    assert {s["input"]: s["evidence"] for s in body["symptoms"]} == {"sore throat": "E_97", "D005334": "E_91"}
    assert next(s for s in body["symptoms"] if s["input"] == "D005334")["mesh_name"] == "Fever"
    assert body["findings"] == ["E_91", "E_97"]  # the MeSH fever is the same finding as E_91
    assert len(body["differential"]) == 10  # default top


def test_empty_or_unrecognised_findings_are_422(client: TestClient) -> None:
    for payload in ({"age": 30, "sex": "M"}, {"age": 30, "sex": "M", "evidences": [], "symptoms": [], "text": " "}):
        resp = client.post("/diagnosis", json=payload)
        assert resp.status_code == 422
        assert "empty" in resp.json()["detail"][0]["msg"]
    resp = client.post("/diagnosis", json={"age": 30, "sex": "M", "evidences": ["E_9999"]})
    assert resp.status_code == 422 and "'E_9999'" in resp.json()["detail"][0]["msg"]
    resp = client.post("/diagnosis", json={"age": 30, "sex": "X", "evidences": ["E_91"]})
    assert resp.status_code == 422 and "sex" in resp.json()["detail"][0]["msg"]
    resp = client.post("/diagnosis", json={"age": 30, "sex": "M", "evidences": ["E_91"], "name": "Jane Doe"})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "name"]


def test_free_text_is_matched_or_reported_unprocessed(client: TestClient) -> None:
    text = "I have a fever. My throat hurts."
    resp = client.post("/diagnosis", json={"age": 30, "sex": "F", "evidences": ["E_201"], "text": text, "top": 3})
    assert resp.status_code == 200, resp.text
    info = resp.json()["text"]
    assert info["input"] == text
    if importlib.util.find_spec("gnn.text.findings") is None:
        assert info["status"] == "unprocessed" and "not installed" in info["reason"]
        return
    assert info["status"] == "processed", info
    spans = {m["evidence"]: m["span"] for m in info["matches"]}
    assert spans.get("E_91") == "I have a fever" and spans.get("E_97") == "My throat hurts"
    assert {"E_201", "E_91", "E_97"} <= set(resp.json()["findings"])


def test_diagnosis_is_audited_and_refused_to_researchers(client: TestClient, settings: Settings,
                                                         api_keys: dict[str, str]) -> None:
    resp = client.post("/diagnosis", json={"age": 30, "sex": "M", "evidences": ["E_91"], "top": 1})
    assert resp.status_code == 200
    last = json.loads(client.app.state.audit.path.read_text().splitlines()[-1])
    assert (last["action"], last["key_name"], last["role"], last["findings"]) == (
        "diagnosis", "test-clinician", "clinician", 1)
    denied = client.post("/diagnosis", json={"age": 30, "sex": "M", "evidences": ["E_91"]},
                         headers={"X-API-Key": api_keys["researcher"]})
    assert denied.status_code == 403 and "researcher" in denied.json()["detail"]


def _artifacts(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """An artefact root whose latest diagnosis run (with a valid run.json) holds exactly `files`."""
    from gnn.diagnosis.family import DiagnosisFamily
    from gnn.pipeline.store import RunManifest

    root = tmp_path / "artifacts"
    man = RunManifest(family="diagnosis", model_run="diagnosis-test-run", artifact_format=0, seed=0, config={})
    DiagnosisFamily().store(root).save(man, lambda out, folder: [out.bytes(folder / n, c) for n, c in files.items()])
    return root


def test_corrupt_model_gives_503_while_the_graph_serves(built_graph, settings: Settings, api_keys, tmp_path) -> None:
    from gnn.diagnosis.baseline import GRAPH_CLIP, GRAPH_WEIGHT
    from gnn.diagnosis.model import ModelConfig
    from gnn.diagnosis.vocab import Vocab

    kb = default_knowledge()
    config = {"model": ModelConfig().to_dict(), "pathologies": list(kb.pathologies),
              "ensemble": {"graph_weight": GRAPH_WEIGHT, "graph_clip": GRAPH_CLIP}}
    root = _artifacts(tmp_path, {"model.pt": b"\x00garbage, not a state dict\xff" * 10,
                                 "vocab.json": json.dumps(Vocab.from_knowledge(kb).to_dict()).encode(),
                                 "config.json": json.dumps(config).encode()})
    broken = settings.model_copy(update={"medkg_artifacts": root})
    with TestClient(create_app(broken), headers={"X-API-Key": api_keys["clinician"]}) as c:
        resp = c.post("/diagnosis", json={"age": 30, "sex": "M", "evidences": ["E_91"]})
        assert resp.status_code == 503
        detail = resp.json()["detail"]
        assert f"diagnosis model artefact in {root / 'diagnosis'} is unusable" in detail
        assert "medkg train diagnosis" in detail
        assert c.get("/health").json()["status"] == "ok"
        graph = c.get("/entities/Pathology/Pneumonia")
        assert graph.status_code == 200 and graph.json()["id"] == "Pneumonia"


def test_incomplete_artefact_is_corrupt_and_missing_one_falls_back_to_the_graph(
        built_graph, settings: Settings, api_keys, tmp_path, sample_rows) -> None:
    only_weights = _artifacts(tmp_path / "a", {"model.pt": b"garbage"})
    with TestClient(create_app(settings.model_copy(update={"medkg_artifacts": only_weights})),
                    headers={"X-API-Key": api_keys["clinician"]}) as c:
        resp = c.post("/diagnosis", json={"age": 30, "sex": "M", "evidences": ["E_91"]})
        assert resp.status_code == 503 and "missing vocab.json, config.json" in resp.json()["detail"]
    old_layout = tmp_path / "c" / "artifacts"  # model files directly under artifacts/diagnosis, before the store
    (old_layout / "diagnosis").mkdir(parents=True)
    (old_layout / "diagnosis" / "model.pt").write_bytes(b"weights")
    with TestClient(create_app(settings.model_copy(update={"medkg_artifacts": old_layout})),
                    headers={"X-API-Key": api_keys["clinician"]}) as c:
        resp = c.post("/diagnosis", json={"age": 30, "sex": "M", "evidences": ["E_91"]})
        assert resp.status_code == 503 and "outdated layout" in resp.json()["detail"]
    empty = tmp_path / "b"
    empty.mkdir()
    row = sample_rows[0]
    with TestClient(create_app(settings.model_copy(update={"medkg_artifacts": empty})),
                    headers={"X-API-Key": api_keys["clinician"]}) as c:
        resp = c.post("/diagnosis", json={"age": row.patient.age, "sex": row.patient.sex,
                                          "evidences": row.patient.tokens, "top": 3})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["model"]["name"] == "graph-baseline" and "no trained model" in body["model"]["note"]
        assert body["differential"][0]["pathology"] == "Pneumonia" and body["attention"] == {}


def test_the_run_threshold_marks_the_differential_a_user_gets(built_graph, settings: Settings, api_keys,
                                                              tmp_path, sample_rows) -> None:
    """An (untrained) model saved as a run with differential threshold 0.02: the API reports the threshold
    and marks exactly the candidates at or above it."""
    import torch

    from gnn.diagnosis.family import DiagnosisConfig, DiagnosisFamily
    from gnn.diagnosis.model import ModelConfig, build_model
    from gnn.diagnosis.service import Diagnoser
    from gnn.diagnosis.vocab import Vocab

    kb = default_knowledge()
    vocab = Vocab.from_knowledge(kb)
    torch.manual_seed(0)
    dx = Diagnoser(build_model(vocab, len(kb.pathologies), ModelConfig()), vocab, kb, ModelConfig(),
                   metrics={"n_patients": 0}, graph_weight=0.5, graph_clip=5.0, threshold=0.02)
    root = tmp_path / "artifacts"
    man = DiagnosisFamily().save_run(dx, DiagnosisConfig(artifacts=root))
    row = sample_rows[0]
    with TestClient(create_app(settings.model_copy(update={"medkg_artifacts": root})),
                    headers={"X-API-Key": api_keys["clinician"]}) as c:
        body = c.post("/diagnosis", json={"age": row.patient.age, "sex": row.patient.sex,
                                          "evidences": row.patient.tokens, "top": 49}).json()
    assert body["model"]["run"] == man.model_run and body["model"]["differential_threshold"] == 0.02
    assert body["model"]["graph_weight"] == 0.5
    marked = [c["in_differential"] for c in body["differential"]]
    assert marked == [c["probability"] >= 0.02 for c in body["differential"]]
    assert marked[0] and not all(marked)
