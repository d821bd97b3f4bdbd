"""CDS Hooks 2.0 on the real graph: the specification's hook examples, hand-built orders, bundles built from
our Synthea patients, errors, access."""

from __future__ import annotations

import copy
import gc
import json
import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from api.services.cds import CdsService
from kg.settings import Settings
from tests.api.fhir_builders import (
    SPEC_MEDICATION_REQUEST,
    allergy,
    condition,
    hook_request,
    medication_request,
    spec_request,
    synthea_current_medications,
)

pytestmark = pytest.mark.neo4j
SIGN, SELECT = "/cds-services/medkg-order-sign", "/cds-services/medkg-order-select"


@pytest.fixture(scope="module")
def client(built_graph, settings: Settings, api_keys: dict[str, str]) -> Iterator[TestClient]:
    unlimited = settings.model_copy(update={"medkg_rate_limit": 1e6, "medkg_rate_burst": 1_000_000})
    with TestClient(create_app(unlimited), headers={"X-API-Key": api_keys["clinician"]}) as c:
        yield c


def _cards(client: TestClient, path: str, body: dict) -> list[dict]:
    resp = client.post(path, json=body)
    assert resp.status_code == 200, resp.text
    cards = resp.json()["cards"]
    for card in cards:
        assert len(card["summary"]) < 140 and card["indicator"] in {"critical", "warning", "info"}
        assert card["source"]["label"] and card["detail"]
    return cards


def _warfarin_order(prefetch: bool = True, **extra) -> dict:
    drafts = [medication_request("d1", "p1", None, "Warfarin 5 MG Oral Tablet"),
              medication_request("d2", "p1", None, "Digoxin 0.25 MG Oral Tablet")]
    meds = [medication_request("m1", "p1", "243670", "aspirin 81 MG Oral Tablet", "active"),
            medication_request("m2", "p1", None, "amiodarone", "active")]
    return hook_request("order-sign", "p1", drafts, meds, prefetch=prefetch, **extra)


def test_discovery_lists_both_hooks_with_prefetch(client: TestClient) -> None:
    resp = client.get("/cds-services")
    assert resp.status_code == 200
    services = {s["hook"]: s for s in resp.json()["services"]}
    assert set(services) == {"order-select", "order-sign"}
    for s in services.values():
        assert s["prefetch"] == {
            "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
            "allergies": "AllergyIntolerance?patient={{context.patientId}}&clinical-status=active",
            "conditions": "Condition?patient={{context.patientId}}&clinical-status=active"}
        assert s["id"] == f"medkg-{s['hook']}" and s["title"] and s["description"]


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_specification_examples_answer_without_cards(client: TestClient, hook: str) -> None:
    """Amoxicillin/clavulanate alone, no prefetch: its two ingredients are one product, nothing to say."""
    assert _cards(client, f"/cds-services/medkg-{hook}", spec_request(hook)) == []


def test_specification_example_is_not_valid_r4_as_a_whole() -> None:
    """Why the service validates the elements it reads rather than whole orders: the spec's own example carries
    `doseAndRate` as an object, which the R4(B) model refuses."""
    from fhir.resources.R4B.medicationrequest import MedicationRequest

    with pytest.raises(ValidationError, match="doseAndRate"):
        MedicationRequest.model_validate(SPEC_MEDICATION_REQUEST)


def test_interaction_cards_indicators_and_detail(client: TestClient) -> None:
    cards = _cards(client, SIGN, _warfarin_order())
    by_summary = {c["summary"]: c for c in cards}
    major = by_summary["Major interaction: Warfarin + Acetylsalicylic acid"]
    assert major["indicator"] == "critical"
    assert "Acetylsalicylic acid may increase the anticoagulant activities of Warfarin." in major["detail"]
    assert "DDInter 1.0, license CC BY-NC-SA 4.0" in major["detail"]
    assert "CC BY-NC 4.0" in major["detail"] and "current: aspirin 81 MG Oral Tablet" in major["detail"]
    assert by_summary["Moderate interaction: Digoxin + Acetylsalicylic acid"]["indicator"] == "warning"
    ungraded = by_summary["Interaction (severity not graded): Digoxin + Amiodarone"]
    assert ungraded["indicator"] == "info"
    assert "- Coverage: DDInter does not cover this pair" in ungraded["detail"]  # the silent source, named
    # cards come critical first; no card for a pair of two current medications (aspirin + amiodarone)
    assert [c["indicator"] for c in cards] == sorted((c["indicator"] for c in cards),
                                                     key=["critical", "warning", "info"].index)
    assert not any("Acetylsalicylic acid + Amiodarone" in c["summary"] or "Amiodarone + Acetylsalicylic acid"
                   in c["summary"] for c in cards)
    assert len(cards) == 5  # warfarin-aspirin, warfarin-amiodarone, digoxin-aspirin, digoxin-amiodarone, dig-warf


def test_no_card_when_nothing_to_say(client: TestClient) -> None:
    body = hook_request("order-sign", "p1", [medication_request("d1", "p1", None, "Acetaminophen 325 MG Oral Tablet")],
                        [medication_request("m1", "p1", "314076", "lisinopril 10 MG Oral Tablet", "active")])
    assert _cards(client, SIGN, body) == []


def test_missing_prefetch_is_said_in_the_cards(client: TestClient) -> None:
    cards = _cards(client, SIGN, _warfarin_order(prefetch=False))
    assert [c["summary"] for c in cards] == ["Interaction (severity not graded): Digoxin + Warfarin"]
    assert "No prefetch was sent: this answer checks the draft orders alone" in cards[0]["detail"]


def test_order_select_checks_the_selected_orders(client: TestClient) -> None:
    body = _warfarin_order()
    body["hook"] = "order-select"
    body["context"]["selections"] = ["MedicationRequest/d2"]  # digoxin selected; warfarin an earlier draft
    summaries = {c["summary"] for c in _cards(client, SELECT, body)}
    assert "Moderate interaction: Digoxin + Acetylsalicylic acid" in summaries
    assert "Major interaction: Warfarin + Acetylsalicylic acid" not in summaries  # not about the selection
    assert "Interaction (severity not graded): Digoxin + Warfarin" in summaries


def test_rxnorm_codes_resolve_through_the_synthea_mappings(client: TestClient) -> None:
    # codes only (no display text): 309362 = Clopidogrel 75 MG, 243670 = aspirin 81 MG (Synthea medications)
    body = hook_request("order-sign", "p1", [medication_request("d1", "p1", "309362", None)],
                        [medication_request("m1", "p1", "243670", None, "active")])
    summaries = [c["summary"] for c in _cards(client, SIGN, body)]
    assert any("Clopidogrel" in s and "Acetylsalicylic acid" in s for s in summaries), summaries


def test_unresolved_medication_is_named_in_an_info_card(client: TestClient) -> None:
    body = hook_request("order-sign", "p1", [medication_request("d1", "p1", None, "Xyzzyquil 10 MG Oral Tablet")],
                        [medication_request("m1", "p1", "999999999", None, "active")])
    cards = _cards(client, SIGN, body)
    assert len(cards) == 1 and cards[0]["indicator"] == "info"
    assert cards[0]["summary"] == "Not checked: 2 medications or allergies could not be matched to a drug"
    assert "Xyzzyquil 10 MG Oral Tablet (drafted): did not resolve" in cards[0]["detail"]
    assert "(current medication: no code or text to resolve)" in cards[0]["detail"]


def test_allergy_and_cross_sensitivity_cards(client: TestClient) -> None:
    body = hook_request("order-sign", "p1", [medication_request("d1", "p1", None, "Aspirin 325 MG Oral Tablet"),
                                             medication_request("d2", "p1", None, "Amoxicillin 500 MG Oral Capsule")],
                        allergies=[allergy("a1", "p1", "1191", "Aspirin"), allergy("a2", "p1", "7984", "Penicillin V"),
                                   allergy("a3", "p1", "288328004", "Bee venom (substance)",
                                           system="http://snomed.info/sct", category="environment")])
    cards = {c["summary"]: c for c in _cards(client, SIGN, body)}
    direct = cards["Allergy: Acetylsalicylic acid ordered, patient allergy to Aspirin"]
    assert direct["indicator"] == "critical" and "DB00945" in direct["detail"]
    cross = cards["Possible cross-sensitivity: Amoxicillin, patient allergy to Penicillin V"]
    assert cross["indicator"] == "warning" and "Penicillins" in cross["detail"]
    topics = sorted(c["source"]["topic"]["code"] for c in cards.values())
    assert topics == ["allergy", "allergy", "drug-interaction"]  # bee venom: not a medication, not "unresolved"


def test_resolved_allergy_is_not_a_conflict(client: TestClient) -> None:
    resolved = allergy("a1", "p1", "1191", "Aspirin")
    resolved["clinicalStatus"]["coding"][0]["code"] = "resolved"
    body = hook_request("order-sign", "p1", [medication_request("d1", "p1", None, "Aspirin 325 MG Oral Tablet")],
                        allergies=[resolved])
    assert _cards(client, SIGN, body) == []


def test_non_indication_card_from_patient_conditions(client: TestClient) -> None:
    # PharmacotherapyDB: ciprofloxacin NOT_INDICATED_FOR asthma; Synthea's SNOMED 195967001 maps to DOID asthma
    body = hook_request("order-sign", "p1", [medication_request("d1", "p1", None, "Ciprofloxacin 500 MG Oral Tablet")],
                        conditions=[condition("c1", "p1", "195967001", "Asthma")])
    cards = _cards(client, SIGN, body)
    assert [c["summary"] for c in cards] == ["Not indicated: Ciprofloxacin with asthma"]
    assert cards[0]["indicator"] == "warning" and "PharmacotherapyDB" in cards[0]["detail"]
    body["prefetch"]["conditions"]["entry"][0]["resource"] = condition("c1", "p1", "195967001", "Asthma", active=False)
    assert _cards(client, SIGN, body) == []


def test_cards_on_the_event_loop_equal_the_threadpool_cards(client: TestClient) -> None:
    """The in-memory path (run on the event loop) gives the threadpool path's cards; before the build's facts are
    loaded it declines (None) instead of reading Neo4j on the event loop."""
    assert _cards(client, SIGN, _warfarin_order())  # the app's CdsService exists and has loaded the facts
    service = client.app.state.cds
    deadline = time.monotonic() + 120
    while service.interactions.check_in_memory(["warfarin"]) is None:  # the store loads in the background
        assert time.monotonic() < deadline, "the interaction store never loaded"
        time.sleep(0.2)
    call = service.parse("medkg-order-sign", _warfarin_order())
    strip = lambda cards: [{k: v for k, v in c.items() if k != "uuid"} for c in cards]  # noqa: E731
    in_memory = service.cards_in_memory(call)
    assert in_memory is not None and len(in_memory) >= 3
    assert strip(in_memory) == strip(service.cards(call))
    fresh = CdsService(service.interactions)
    assert fresh.cards_in_memory(call) is None
    assert strip(fresh.cards(call)) == strip(in_memory)
    # the loaded facts live as long as the service: out of the collector's full collections (~200 ms pauses)
    loaded = fresh.facts.peek(service.interactions.builds.current().build_id)
    assert loaded is not None and loaded.not_indicated
    assert not any(o is loaded.not_indicated for o in gc.get_objects())


def test_predicted_interactions_become_labelled_info_cards(client: TestClient, monkeypatch) -> None:
    """The interaction check may carry a per-pair `predicted` field (a parallel piece of work): such pairs become
    `info` cards labelled as model predictions, and a pair with a sourced fact never gets one."""
    svc = client.app.state.services.interactions
    original = svc.check

    def with_prediction(drugs: list[str]) -> dict:
        result = copy.deepcopy(original(drugs))
        for pair in result["no_interaction"]:
            pair["predicted"] = {"probability": 0.81, "model_run": "ddi-test-run"}
        for pair in result["interactions"]:
            pair["predicted"] = {"probability": 0.99, "model_run": "ddi-test-run"}
        return result

    monkeypatch.setattr(svc, "check_in_memory", lambda drugs: None)
    monkeypatch.setattr(svc, "check", with_prediction)
    body = hook_request("order-sign", "p1", [medication_request("d1", "p1", None, "Acetaminophen 325 MG Oral Tablet")],
                        [medication_request("m1", "p1", "314076", "lisinopril 10 MG Oral Tablet", "active")])
    cards = _cards(client, SIGN, body)
    assert len(cards) == 1 and cards[0]["indicator"] == "info"
    assert cards[0]["summary"].startswith("Predicted interaction (model, p=0.81)")
    assert "Model prediction, not a sourced fact" in cards[0]["detail"] and "ddi-test-run" in cards[0]["detail"]
    sourced = _cards(client, SIGN, _warfarin_order())
    assert not any(c["summary"].startswith("Predicted") for c in sourced)


def test_synthea_patients_bundles_match_the_interaction_check(client: TestClient, settings: Settings) -> None:
    """For Synthea patients with several current medications: draft each one in turn against the others; the
    cards are exactly the interacting pairs the plain check reports for that drug."""
    meds = synthea_current_medications(settings.medkg_data_dir)
    patients = sorted((p for p, m in meds.items() if len(m) >= 5), key=lambda p: (-len(meds[p]), p))[:3]
    assert patients
    checked = 0
    for pid in patients:
        codes = meds[pid]
        draft_code, draft_name = codes[0]
        active = [medication_request(f"m{i}", pid, c, n, "active") for i, (c, n) in enumerate(codes[1:])]
        body = hook_request("order-sign", pid, [medication_request("d0", pid, draft_code, draft_name)], active)
        cards = [c for c in _cards(client, SIGN, body) if "interaction" in c["summary"].lower()]
        check = client.post("/interactions/check", json={"drugs": [f"rxnorm:{c}" for c, _ in codes]}).json()
        draft_ids = {d["id"] for d in check["entries"][0]["drugs"]}
        expected = {frozenset((p["drug_a"]["name"], p["drug_b"]["name"])) for p in check["interactions"]
                    if {p["drug_a"]["id"], p["drug_b"]["id"]} & draft_ids
                    and not ({p["drug_a"]["id"], p["drug_b"]["id"]} <= draft_ids)}
        got = set()
        for c in cards:
            if " + " in c["summary"]:
                got.add(frozenset(c["summary"].split(": ", 1)[1].split(" + ")))
            else:  # one grouped card for a drafted drug's many ungraded interactions: a line per partner
                drug = c["summary"].split(" interactions of ", 1)[1].rsplit(" not graded", 1)[0]
                got |= {frozenset((drug, other)) for other in re.findall(r"^- \*\*(.+?)\*\* \(", c["detail"], re.M)}
        assert got == expected, (pid, draft_name)
        checked += len(expected)
    assert checked > 0  # at least one real interacting pair among these patients


def test_many_ungraded_interactions_of_one_order_are_one_card(client: TestClient) -> None:
    """Digoxin against five cardiovascular drugs DDInter does not cover: one grouped info card names all five
    partners with their mechanisms, instead of five cards (alert fatigue); the graded cards stay one per pair."""
    names = ["amiodarone", "verapamil", "quinidine", "spironolactone", "carvedilol"]
    meds = [medication_request(f"m{i}", "p1", None, n, "active") for i, n in enumerate(names)]
    body = hook_request("order-sign", "p1", [medication_request("d1", "p1", None, "Digoxin 0.25 MG Oral Tablet")],
                        meds)
    cards = _cards(client, SIGN, body)
    grouped = [c for c in cards if c["summary"].endswith("of Digoxin not graded (mechanism known)")]
    assert len(grouped) == 1 and grouped[0]["indicator"] == "info"
    partners = re.findall(r"^- \*\*(.+?)\*\* \(", grouped[0]["detail"], re.M)
    assert len(partners) == int(grouped[0]["summary"].split()[0]) >= 3
    assert "Amiodarone" in partners and "DrugBank" in grouped[0]["detail"]
    assert not any(c["summary"].startswith("Interaction (severity not graded): Digoxin") for c in cards)


def test_errors_are_400_with_the_reason(client: TestClient) -> None:
    resp = client.post(SIGN, content=b'{"hook": "order-sign",', headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["detail"].startswith("malformed JSON: ")
    wrong = spec_request("order-select")
    resp = client.post(SIGN, json=wrong)
    assert resp.status_code == 400
    assert resp.json()["detail"] == ("hook: service 'medkg-order-sign' answers 'order-sign', the request says "
                                     "'order-select'")
    no_meds = spec_request("order-sign")
    no_meds["context"]["draftOrders"]["entry"] = no_meds["context"]["draftOrders"]["entry"][:1]
    resp = client.post(SIGN, json=no_meds)
    assert resp.status_code == 400
    assert "holds no MedicationRequest (found: NutritionOrder)" in resp.json()["detail"]
    bad = _warfarin_order()
    bad["context"]["draftOrders"]["entry"][1]["resource"]["medicationCodeableConcept"]["coding"] = [{"code": 5}]
    resp = client.post(SIGN, json=bad)
    assert resp.status_code == 400
    assert resp.json()["detail"].startswith(
        "context.draftOrders.entry[1].resource.medicationCodeableConcept.coding[0].code: ")
    no_select = spec_request("order-select")
    del no_select["context"]["selections"]
    assert client.post(SELECT, json=no_select).status_code == 400
    assert client.post("/cds-services/nope", json=spec_request("order-sign")).status_code == 404


def test_access_bearer_token_and_roles(client: TestClient, api_keys: dict[str, str]) -> None:
    body = json.dumps(_warfarin_order()).encode()
    bare = {"X-API-Key": ""}
    ok = client.post(SIGN, content=body, headers={**bare, "Authorization": f"Bearer {api_keys['clinician']}"})
    assert ok.status_code == 200 and ok.json()["cards"]
    assert client.post(SIGN, content=body, headers={**bare, "Authorization": "Bearer mk_0_nope"}).status_code == 401
    weak = client.post(SIGN, content=body, headers={"X-API-Key": api_keys["researcher"]})
    assert weak.status_code == 403  # researchers see no patient data
    assert client.get("/cds-services", headers={"X-API-Key": api_keys["researcher"]}).status_code == 200
    entries = client.app.state.audit.entries()
    assert any(e["action"] == "cds.order-sign" and e["patient"] and e["patient"].startswith("P-")
               and e["patient"] != "p1" for e in entries)


def test_pairs_of_one_product_get_no_card(client: TestClient) -> None:
    service = getattr(client.app.state, "cds", None) or CdsService(client.app.state.services.interactions)
    body = hook_request("order-sign", "p1", [medication_request(
        "d1", "p1", None, "Acetaminophen 300 MG / Hydrocodone Bitartrate 5 MG Oral Tablet")])
    call = service.parse("medkg-order-sign", body)
    assert [m.label for m in call.meds] == ["Acetaminophen 300 MG / Hydrocodone Bitartrate 5 MG Oral Tablet"]
    assert service.cards(call) == []
