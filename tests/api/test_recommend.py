"""GET /recommendations: 503 without a model, ranked drugs with explanations and patient safety with one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.settings import Settings
from tests.gnn.test_treats import patient_on_major_interactor  # noqa: F401  (fixture)
from tests.gnn.treats_helpers import write_fake_run


def _client(settings: Settings, artifacts: Path, key: str) -> TestClient:
    s = settings.model_copy(update={"medkg_artifacts": artifacts, "medkg_rate_limit": 1e6,
                                    "medkg_rate_burst": 1_000_000})
    return TestClient(create_app(s), headers={"X-API-Key": key})


def test_503_when_no_model(settings: Settings, api_keys: dict[str, str], tmp_path: Path) -> None:
    with _client(settings, tmp_path, api_keys["researcher"]) as c:
        r = c.get("/recommendations", params={"disease": "DOID:9352"})
        assert r.status_code == 503
        assert "medkg train treats" in r.json()["detail"] and str(tmp_path) in r.json()["detail"]
        assert c.get("/health").json()["status"] == "ok"  # the rest of the app started and serves
        assert c.get("/drugs/search", params={"q": "aspirin"}).json()["candidates"][0]["id"] == "DB00945"


def test_recommendations_explained_and_patient_safe(built_graph: object, settings: Settings,
                                                    api_keys: dict[str, str], tmp_path: Path,
                                                    patient_on_major_interactor) -> None:  # noqa: F811
    pid, _, risky = patient_on_major_interactor
    # metformin treats type 2 diabetes in Hetionet: a known pair with supporting paths
    write_fake_run(tmp_path, [risky, "DB00331", "DB00945"], ["DOID:9352"], np.array([[5.0, 1.0, 0.5]]),
                   known=[(1, 0)])
    with _client(settings, tmp_path, api_keys["clinician"]) as c:
        r = c.get("/recommendations", params={"disease": "DOID:9352", "top": 3})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model_run"] == "fake-run"
        ranked = body["recommendations"]
        assert ranked[0]["drug_id"] == "DB00331" and ranked[0]["status"] == "known"
        assert 0 < ranked[1]["probability"] < 1
        paths = ranked[0]["explanation"]
        assert paths and all(e["sources"] for p in paths for e in p["edges"])
        safe = c.get("/recommendations", params={"disease": "DOID:9352", "patient": pid, "top": 3}).json()
        assert risky not in [i["drug_id"] for i in safe["recommendations"]]
        assert safe["excluded"][0]["reasons"][0]["reason"] == "major_interaction"
        flagged = c.get("/recommendations", params={"disease": "DOID:9352", "patient": pid, "safety": "flag"}).json()
        assert any(i["drug_id"] == risky and i["safety"] for i in flagged["recommendations"])
        assert c.get("/recommendations", params={"disease": "DOID:nope"}).status_code == 404
        assert c.get("/recommendations", params={"disease": "DOID:9352", "patient": "P-nobody"}).status_code == 404
    with _client(settings, tmp_path, api_keys["researcher"]) as c:
        assert c.get("/recommendations", params={"disease": "DOID:9352", "patient": pid}).status_code == 403


@pytest.mark.parametrize("top", [0, 1000])
def test_bad_top_is_422(settings: Settings, api_keys: dict[str, str], tmp_path: Path, top: int) -> None:
    with _client(settings, tmp_path, api_keys["researcher"]) as c:
        assert c.get("/recommendations", params={"disease": "DOID:9352", "top": top}).status_code == 422


def test_contraindicated_drug_is_never_recommended_only_flagged_with_source(built_graph: object, settings: Settings,
                                                                            api_keys: dict[str, str],
                                                                            tmp_path: Path, driver) -> None:
    from kg.db import read

    row = read(driver, "MATCH (a:Drug)-[r:NOT_INDICATED_FOR]->(x:Disease {id: 'DOID:9352'}) "
                       "RETURN a.id AS drug, r.sources AS sources ORDER BY a.id LIMIT 1")[0]
    # the contraindicated drug scores best; the run knows the pair as NOT_INDICATED_FOR
    write_fake_run(tmp_path, [row["drug"], "DB00331", "DB00945"], ["DOID:9352"], np.array([[9.0, 1.0, 0.5]]),
                   contra=[(0, 0)])
    with _client(settings, tmp_path, api_keys["researcher"]) as c:
        body = c.get("/recommendations", params={"disease": "DOID:9352", "top": 3, "explain": False}).json()
    assert [i["drug_id"] for i in body["recommendations"]] == ["DB00331", "DB00945"]
    flagged = body["contraindicated"]
    assert [(f["drug_id"], f["status"], f["reason"]) for f in flagged] == [
        (row["drug"], "contraindicated", "NOT_INDICATED_FOR")]
    assert flagged[0]["sources"] == row["sources"] and flagged[0]["probability"] > 0.99
