"""The `predicted` part of the interaction check: model estimates for pairs without a curated grade, labelled,
never replacing a curated fact, off with `"predictions": false`. Uses a ddi run trained on a tiny fixture
whose drugs are the example's (the plumbing is under test here, not the model's quality)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic_core import to_json

from api.app import create_app
from api.models.drugs import CheckResponse
from kg.settings import Settings

pytestmark = pytest.mark.neo4j

EXAMPLE = ["warfarin", "aspirin", "simvastatin", "clarithromycin", "digoxin", "amiodarone"]
IDS = ["DB00682", "DB00945", "DB00641", "DB01211", "DB00390", "DB01118"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gnn.ddi.family import DdiConfig, DdiFamily
    from gnn.ddi.fixture import write_fixture

    tmp = tmp_path_factory.mktemp("ddi-api")
    data, facts = write_fixture(tmp, drugs=IDS + [f"DB9{i:04d}" for i in range(1, 35)])
    cfg = DdiConfig(artifacts=tmp / "artifacts", data_dir=data, graph_facts=facts, threads=1, svd_dim=8, graph_dim=4,
                    hidden=32, epochs=2, baseline_epochs=1, severity_epochs=2, any_epochs=1, batch_size=64,
                    write_back=False)
    man = DdiFamily().train(cfg, progress=False)
    return Path(man.folder)


@pytest.fixture(scope="module")
def pclient(built_graph: object, settings: Settings, api_keys: dict[str, str], run_dir: Path
            ) -> Iterator[TestClient]:
    s = settings.model_copy(update={"medkg_rate_limit": 1e6, "medkg_rate_burst": 1_000_000,
                                    "medkg_artifacts": run_dir.parent.parent})
    with TestClient(create_app(s), headers={"X-API-Key": api_keys["researcher"]}) as c:
        yield c


def _pair(body: dict, a: str, b: str) -> dict:
    for p in body["interactions"] + body["no_interaction"]:
        if {p["drug_a"]["id"], p["drug_b"]["id"]} == {a, b}:
            return p
    raise AssertionError(f"no pair {a}-{b}")


def test_ungraded_pair_gets_a_labelled_severity_estimate(pclient: TestClient, run_dir: Path) -> None:
    body = pclient.post("/interactions/check", json={"drugs": EXAMPLE}).json()
    pair = _pair(body, "DB00390", "DB01118")  # digoxin + amiodarone: DrugBank mechanism, no DDInter grade
    assert pair["severity"] == "not graded" and pair["severity_source"] is None  # the curated answer stands
    assert [f["source"] for f in pair["facts"]] == ["drugbank-ddi-86"]
    pred = pair["predicted"]
    assert pred["label"] == "predicted, not from a source"
    assert pred["model_run"] == run_dir.name
    assert pred["severity"] in ("Major", "Moderate", "Minor")
    assert 0 < pred["severity_probability"] <= 1 and 0 <= pred["major_probability"] <= 1
    assert (pred["severity"] == "Major") == (pred["major_probability"] >= pred["major_threshold"])
    assert any("Digoxin" in d for d in pred["drivers"]) and any("Amiodarone" in d for d in pred["drivers"])
    assert body["predictions"] == {"enabled": True, "model_run": run_dir.name,
                                   "label": "predicted, not from a source",
                                   "predicted_pairs": sum(p["predicted"] is not None
                                                          for p in body["interactions"] + body["no_interaction"])}


def test_curated_grades_and_no_known_interaction_get_no_prediction(pclient: TestClient) -> None:
    body = pclient.post("/interactions/check", json={"drugs": EXAMPLE}).json()
    assert _pair(body, "DB00682", "DB00945")["severity"] == "Major"
    assert _pair(body, "DB00682", "DB00945")["predicted"] is None  # warfarin + aspirin: DDInter grades it
    for p in body["interactions"]:
        if p["severity"] != "not graded":
            assert p["predicted"] is None
    for p in body["no_interaction"]:
        if p["status"] == "no known interaction":
            assert p["predicted"] is None
        elif p["predicted"] is not None:  # not covered: probability and a type sentence with both names
            pred = p["predicted"]
            assert pred["interaction_estimate"] == ("likely" if pred["interaction_probability"] >= 0.5 else "unlikely")
            assert p["drug_a"]["name"] in pred["sentence"] and p["drug_b"]["name"] in pred["sentence"]
            assert pred["note"].startswith("no source covers this pair; model estimate:")


def test_predictions_off_keeps_the_old_answer(pclient: TestClient) -> None:
    off = pclient.post("/interactions/check", json={"drugs": EXAMPLE, "predictions": False}).json()
    assert all(p["predicted"] is None for p in off["interactions"] + off["no_interaction"])
    assert off["predictions"]["enabled"] is False and off["predictions"]["predicted_pairs"] == 0
    on = pclient.post("/interactions/check", json={"drugs": EXAMPLE}).json()
    strip = ("predicted",)
    for key in ("interactions", "no_interaction"):
        assert [{k: v for k, v in p.items() if k not in strip} for p in on[key]] == \
               [{k: v for k, v in p.items() if k not in strip} for p in off[key]]
    assert on["summary"] == off["summary"]


def test_payload_validates_against_the_response_model(pclient: TestClient) -> None:
    body = pclient.post("/interactions/check", json={"drugs": EXAMPLE}).json()
    assert json.loads(to_json(body)) == json.loads(CheckResponse.model_validate(body).model_dump_json())


def test_repeated_pairs_are_served_from_the_pair_answer_cache(pclient: TestClient, monkeypatch) -> None:
    """A pair's answer (its prediction included) depends only on the build, the run and the two drugs: the
    second check of the same list gives the same predictions without scoring again."""
    first = pclient.post("/interactions/check", json={"drugs": EXAMPLE}).json()
    service = pclient.app.state.services.interactions.predictions
    rt = service.runtime()

    def refuse(*_a, **_k):
        raise AssertionError("a cached pair was scored again")

    monkeypatch.setattr(rt, "severity_proba", refuse)
    monkeypatch.setattr(rt, "type_proba", refuse)
    second = pclient.post("/interactions/check", json={"drugs": EXAMPLE}).json()
    pairs = lambda body: {(p["drug_a"]["id"], p["drug_b"]["id"]): p["predicted"]  # noqa: E731
                          for p in body["interactions"] + body["no_interaction"]}
    assert pairs(second) == pairs(first) and any(v is not None for v in pairs(first).values())
