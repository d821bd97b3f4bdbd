"""POST /ask on the real graph with a classifier trained in seconds on the graph-free fixture phrasings (no
encoder): brand names, typos, lay terms, interaction checks, abstentions, the answer's shape, and every
catalogue query run in a READ session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.db import read_tx
from gnn.qa.catalogue import INTENTS, MAX_ANSWERS, explain_cypher
from gnn.qa.family import QAConfig, QAFamily, tiny_fixture
from kg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]


@pytest.fixture(scope="module")
def qa_client(built_graph: object, settings: Settings, api_keys: dict[str, str],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    import json

    tmp = tmp_path_factory.mktemp("qa")
    fixture = tmp / "fixture.json"
    fixture.write_text(json.dumps(tiny_fixture()))
    QAFamily().train(QAConfig(artifacts=tmp / "artifacts", fixture=str(fixture), use_encoder=False, threads=1),
                     progress=False)
    s = settings.model_copy(update={"medkg_rate_limit": 1e6, "medkg_rate_burst": 1_000_000,
                                    "medkg_artifacts": tmp / "artifacts"})
    with TestClient(create_app(s), headers={"X-API-Key": api_keys["researcher"]}) as c:
        yield c


def ask(client: TestClient, question: str) -> dict:
    r = client.post("/ask", json={"question": question})
    assert r.status_code == 200, r.text
    return r.json()


def test_brand_name_targets_with_evidence(qa_client: TestClient) -> None:
    body = ask(qa_client, "What are the targets of Coumadin?")
    assert not body["abstained"] and body["interpretation"]["intent"] == "targets"
    ent = body["interpretation"]["entities"][0]
    assert (ent["id"], ent["label"], ent["method"]) == ("DB00682", "Drug", "synonym-exact") and ent["confidence"] > 0.9
    assert body["count"] == len(body["answers"]) == 10 and all(a["label"] == "Gene" for a in body["answers"])
    fact = body["answers"][0]["facts"][0]
    assert fact["relationship"] == "BINDS" and fact["sources"] and fact["licenses"]
    assert body["cypher"]["params"] == {"drug": "DB00682", "limit": MAX_ANSWERS}
    assert body["cypher"]["browser"].startswith(':param drug => "DB00682";')
    assert "Warfarin" in body["summary"] and "10" in body["summary"]
    # the Cypher shown runs unchanged on the read-only endpoint and gives the same answers
    rows = qa_client.post("/cypher", json={"query": body["cypher"]["query"], "parameters": body["cypher"]["params"],
                                              "limit": 1000})
    assert rows.status_code == 200, rows.text
    assert [r["id"] for r in rows.json()["rows"]] == [a["id"] for a in body["answers"]]


def test_typo_and_lay_term(qa_client: TestClient) -> None:
    body = ask(qa_client, "What are the side effects of asprin?")
    assert [e["id"] for e in body["interpretation"]["entities"]] == ["DB00945"]
    assert body["interpretation"]["entities"][0]["confidence"] < 1.0
    assert body["count"] == 86 and all(a["facts"][0]["relationship"] == "CAUSES" for a in body["answers"])
    body = ask(qa_client, "What drugs treat heart attack?")
    assert body["interpretation"]["entities"][0]["id"] == "DOID:5844"


def test_interaction_check_reuses_the_check(qa_client: TestClient) -> None:
    body = ask(qa_client, "Do warfarin and aspirin interact?")
    assert body["interpretation"]["intent"] == "interaction_check"
    assert {e["id"] for e in body["interpretation"]["entities"]} == {"DB00682", "DB00945"}
    assert body["answers"][0]["id"] == "DB00682|DB00945" and body["answers"][0]["label"] == "Interaction"
    assert any(f.get("severity") == "Major" for f in body["answers"][0]["facts"])
    assert body["check"]["interactions"], "the interaction check's own answer is attached"


def test_abstains_out_of_scope_and_unknown(qa_client: TestClient) -> None:
    body = ask(qa_client, "What's the weather like today?")
    assert body["abstained"] and body["reason"] == "out_of_scope" and body["answers"] == [] and body["cypher"] is None
    clf = qa_client.app.state.qa.engine().clf  # the tiny fixture model is unsure of "unknownx": no threshold here
    saved, clf.threshold = clf.threshold, 0.0
    try:
        body = ask(qa_client, "What are the side effects of zorblaxin?")
        assert body["abstained"] and body["reason"] == "unknown_entity"
        assert "zorblaxin" in body["message"]
        assert body["candidates"] == [] or all("id" in c for c in body["candidates"])
    finally:
        clf.threshold = saved
    r = qa_client.post("/ask", json={"question": ""})
    assert r.status_code == 422


def test_catalogue_queries_run_read_only(qa_client: TestClient, driver, settings: Settings) -> None:
    params = {"disease": "DOID:9352", "drug": "DB00682", "side_effect": "C0018681", "class": "N0000175722",
              "symptoms": ["D005334", "D006261"], "drugs": ["DB00682", "DB00945"], "major_only": True,
              "limit": MAX_ANSWERS, "k": 3}
    for intent in INTENTS.values():
        text = explain_cypher() if intent.name == "explain" else intent.cypher
        p = {k: v for k, v in params.items() if f"${k}" in text}
        rows = read_tx(driver, settings.neo4j_database, lambda tx, t=text, p=p: tx.run(t, p).data(),
                       caller_query=False)
        assert isinstance(rows, list) and len(rows) <= MAX_ANSWERS, intent.name


def test_side_effects_without_a_profile_say_so_and_keep_predictions_apart(qa_client: TestClient, driver) -> None:
    """Warfarin has no SIDER profile: no recorded answers, the summary says so, and the side-effect model's
    PREDICTED_CAUSES come in their own `predictions` block (probability, model run), never among the answers."""
    from kg.db import read, write

    run = "test-qa-predictions"
    assert read(driver, "MATCH (:Drug {id: 'DB00682'})-[r:CAUSES]->() RETURN count(r) AS n")[0]["n"] == 0
    write(driver, "MATCH (d:Drug {id: 'DB00682'}), (s:SideEffect {id: 'C0027497'}) "
                  "CREATE (d)-[:PREDICTED_CAUSES {probability: 0.9999, model_run: $run, sources: ['medkg'], "
                  "licenses: ['CC0 1.0']}]->(s)", run=run)
    try:
        body = ask(qa_client, "What are the side effects of Coumadin?")
        assert body["interpretation"]["intent"] == "side_effects" and not body["abstained"]
        assert body["answers"] == [] and body["count"] == 0
        assert body["summary"].startswith("Warfarin has no recorded side effects in the graph")
        pred = body["predictions"]
        assert pred["status"] == "predicted, not from a source" and pred["relationship"] == "PREDICTED_CAUSES"
        assert pred["truncated"] is False and pred["count"] == len(pred["items"])
        ours = [i for i in pred["items"] if i["model_run"] == run]
        assert [(i["id"], i["name"], i["probability"], i["status"]) for i in ours] == \
            [("C0027497", "Nausea", 0.9999, "predicted, not from a source")]
        assert pred["items"][0]["probability"] >= 0.9999  # most probable first (above every served prediction)
        assert run in pred["model_runs"] and "Predicted, not from a source" in body["summary"]
        assert pred["cypher"]["params"]["drug"] == "DB00682"
        # a drug with a recorded profile gets recorded answers only
        body = ask(qa_client, "What are the side effects of aspirin?")
        assert body["count"] > 0 and "predictions" not in body
    finally:
        write(driver, "MATCH ()-[r:PREDICTED_CAUSES {model_run: $run}]->() DELETE r", run=run)
    body = ask(qa_client, "side effects of coumadin")
    assert all(i["model_run"] != run for i in body["predictions"]["items"])
    if not body["predictions"]["items"]:
        assert body["summary"].endswith("the graph holds no predicted side effects for it either.")


def test_gazetteer_is_read_once_per_graph_state(qa_client: TestClient, driver) -> None:
    """A second service on the same graph reuses the process's gazetteer; any change of the graph's counts
    (here one relationship) makes the next service read the names again."""
    from api.services.qa import QAService
    from kg.db import write

    app = qa_client.app
    first = app.state.qa.engine().gaz
    again = QAService(app.state.settings, app.state.driver, app.state.services)
    assert again.engine().gaz is first
    write(driver, "MATCH (d:Drug {id: 'DB00682'}), (s:SideEffect {id: 'C0027497'}) "
                  "CREATE (d)-[:PREDICTED_CAUSES {probability: 0.5, model_run: 'test-qa-cache'}]->(s)")
    try:
        fresh = QAService(app.state.settings, app.state.driver, app.state.services).engine().gaz
        assert fresh is not first and len(fresh) == len(first)
    finally:
        write(driver, "MATCH ()-[r:PREDICTED_CAUSES {model_run: 'test-qa-cache'}]->() DELETE r")
    assert QAService(app.state.settings, app.state.driver, app.state.services).engine().gaz is first


def test_a_cut_answer_says_so_and_a_complete_one_does_not(qa_client: TestClient) -> None:
    """Warfarin has more than MAX_ANSWERS interacting drugs: the answer lists the first MAX_ANSWERS, is marked
    truncated, and its summary says "more than", never a count that reads as the total."""
    body = ask(qa_client, "What are the interactions of warfarin?")
    assert body["interpretation"]["intent"] == "interactions" and not body["abstained"]
    assert body["count"] == len(body["answers"]) == MAX_ANSWERS and body["truncated"] is True
    assert body["summary"].startswith(f"Warfarin has more than {MAX_ANSWERS} interacting drug(s)")
    assert body["summary"].endswith(f"(the first {MAX_ANSWERS} listed, most relevant first).")
    assert body["cypher"]["params"]["limit"] == MAX_ANSWERS
    small = ask(qa_client, "What are the targets of Coumadin?")
    assert small["truncated"] is False and "more than" not in small["summary"]
