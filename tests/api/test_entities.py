"""Entities, neighbours, shortest paths and metapaths against the real graph."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.neo4j


def test_entity_by_label_and_id(client) -> None:
    body = client.get("/entities/Drug/DB00945").json()
    assert body["name"] == "Acetylsalicylic acid" and body["labels"] == ["Drug"]
    assert body["properties"]["sources"] == ["drugbank", "hetionet"]
    degree = {(d["type"], d["direction"]): d["count"] for d in body["degree"]}
    assert degree[("BINDS", "out")] == 16


def test_entity_id_with_slash(client) -> None:
    body = client.get("/entities/Pathology/Possible NSTEMI / STEMI").json()
    assert body["properties"]["icd10"] == "I21"


def test_unknown_entity_404_with_suggestions(client) -> None:
    resp = client.get("/entities/Disease/DOID:9352x")
    assert resp.status_code == 404
    assert "DOID:9352" in {s["id"] for s in resp.json()["suggestions"]}
    drug = client.get("/entities/Drug/metformn")
    assert drug.status_code == 404 and drug.json()["suggestions"][0]["id"] == "DB00331"


def test_unknown_label_422(client) -> None:
    resp = client.get("/entities/Medicine/DB00945")
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["path", "label"]
    assert client.get("/entities/Patient/P-0123456789ab").status_code == 422  # patient data is not served


def test_neighbours_by_type_and_direction_paged(client) -> None:
    params = {"type": "BINDS", "direction": "out", "limit": 5}
    page1 = client.get("/entities/Drug/DB00945/neighbours", params=params).json()
    assert page1["total"] == 16 and len(page1["items"]) == 5
    for item in page1["items"]:
        rel = item["relationship"]
        assert rel["type"] == "BINDS" and rel["direction"] == "out" and rel["start"] == "DB00945"
        assert rel["sources"] and rel["licenses"]
        assert item["node"]["label"] == "Gene"
    page4 = client.get("/entities/Drug/DB00945/neighbours", params={**params, "offset": 15}).json()
    assert len(page4["items"]) == 1
    incoming = client.get("/entities/Drug/DB00945/neighbours", params={"type": "BINDS", "direction": "in"}).json()
    assert incoming["total"] == 0
    assert client.get("/entities/Drug/DB00945/neighbours", params={"limit": 500}).status_code == 422
    assert client.get("/entities/Drug/DB00945/neighbours", params={"type": "EATS"}).status_code == 422


def test_shortest_paths_bounded_with_provenance(client) -> None:
    body = client.post("/paths/shortest", json={"source": {"label": "Drug", "id": "DB00331"},
                                                "target": {"label": "Disease", "id": "DOID:9352"},
                                                "max_length": 3, "types": ["BINDS", "ASSOCIATES"], "limit": 3}).json()
    assert body["length"] == 2 and 1 <= body["count"] <= 3
    path = body["paths"][0]
    assert [n["label"] for n in path["nodes"]] == ["Drug", "Gene", "Disease"]
    assert [r["type"] for r in path["relationships"]] == ["BINDS", "ASSOCIATES"]
    assert all(r["sources"] and r["licenses"] for r in path["relationships"])
    too_long = client.post("/paths/shortest", json={"source": {"label": "Drug", "id": "DB00331"},
                                                    "target": {"label": "Disease", "id": "DOID:9352"},
                                                    "max_length": 5})
    assert too_long.status_code == 422
    missing = client.post("/paths/shortest", json={"source": {"label": "Drug", "id": "DB00331"},
                                                   "target": {"label": "Disease", "id": "DOID:0"}})
    assert missing.status_code == 404 and "target" in missing.json()["detail"]


def test_metapath_string_and_steps_agree(client) -> None:
    as_text = client.post("/paths/metapath", json={
        "start": {"label": "Drug", "id": "DB00331"}, "metapath": "Drug-BINDS->Gene<-ASSOCIATES-Disease",
        "end_id": "DOID:9352"}).json()
    as_steps = client.post("/paths/metapath", json={
        "start": {"label": "Drug", "id": "DB00331"}, "end_id": "DOID:9352",
        "steps": [{"type": "BINDS", "direction": "out", "label": "Gene"},
                  {"type": "ASSOCIATES", "direction": "in", "label": "Disease"}]}).json()
    assert as_text["count"] == as_steps["count"] >= 1
    path = as_text["paths"][0]
    assert path["nodes"][0]["id"] == "DB00331" and path["nodes"][-1]["id"] == "DOID:9352"
    assert all(r["sources"] == ["hetionet"] for r in path["relationships"])


def test_metapath_truncates_at_limit(client) -> None:
    body = client.post("/paths/metapath", json={"start": {"label": "Drug", "id": "DB00945"},
                                                "metapath": "Drug-CAUSES->SideEffect", "limit": 3}).json()
    assert body["count"] == 3 and body["truncated"] is True


@pytest.mark.parametrize(("body", "field"), [
    ({"metapath": "Drug-BINDS->Gene<-EATS-Disease"}, "steps[1].type"),
    ({"metapath": "Drug-BINDS->Protein"}, "steps[0].label"),
    ({"steps": [{"type": "BINDS", "direction": "in", "label": "Gene"}]}, "steps[0]"),
    ({"metapath": "Drug-BINDS->Gene-INTERACTS-Gene-INTERACTS-Gene-INTERACTS-Gene-INTERACTS-Gene"}, "steps"),
    ({"metapath": "Drug BINDS Gene"}, "metapath"),
])
def test_metapath_validated_against_schema(client, body: dict, field: str) -> None:
    resp = client.post("/paths/metapath", json={"start": {"label": "Drug", "id": "DB00331"}, **body})
    assert resp.status_code == 422, resp.text[:300]
    assert resp.json()["detail"][0]["loc"] == ["body", field]
