"""`POST /interactions/check` and `GET /drugs/{id}/interactions` against the real graph."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.neo4j

EXAMPLE = ["warfarin", "aspirin", "simvastatin", "clarithromycin", "digoxin", "amiodarone"]


def _pair(body: dict, a: str, b: str) -> dict:
    for p in body["interactions"]:
        if {p["drug_a"]["id"], p["drug_b"]["id"]} == {a, b}:
            return p
    raise AssertionError(f"no interacting pair {a}-{b}")


@pytest.fixture(scope="module")
def example(client) -> dict:
    resp = client.post("/interactions/check", json={"drugs": EXAMPLE})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_example_resolves_every_entry(example) -> None:
    ids = [e["drugs"][0]["id"] for e in example["entries"]]
    assert ids == ["DB00682", "DB00945", "DB00641", "DB01211", "DB00390", "DB01118"]
    assert example["entries"][1]["drugs"][0] == {"id": "DB00945", "name": "Acetylsalicylic acid",
                                                 "matched_name": "Aspirin", "method": "alias", "score": 1.0}


def test_example_warfarin_aspirin_major_with_mechanism(example) -> None:
    pair = _pair(example, "DB00682", "DB00945")
    assert pair["severity"] == "Major"
    assert pair["severity_source"] == "ddinter"
    assert [m["sentence"] for m in pair["mechanisms"]] == [
        "Acetylsalicylic acid may increase the anticoagulant activities of Warfarin."]
    assert pair["mechanisms"][0]["subject"] == "DB00945"
    sources = {f["source"]: f["license"] for f in pair["facts"]}
    assert sources == {"ddinter": "CC BY-NC-SA 4.0", "drugbank-ddi-86": "CC BY-NC 4.0"}


def test_example_simvastatin_clarithromycin_major(example) -> None:
    pair = _pair(example, "DB00641", "DB01211")
    assert pair["severity"] == "Major"
    assert [m["sentence"] for m in pair["mechanisms"]] == [
        "The serum concentration of Simvastatin can be increased when it is combined with Clarithromycin."]
    assert pair["mechanisms"][0]["subject"] == "DB01211"


def test_example_digoxin_amiodarone_not_graded_with_mechanism(example) -> None:
    pair = _pair(example, "DB00390", "DB01118")
    assert pair["severity"] == "not graded"
    assert pair["severity_source"] is None
    assert [m["sentence"] for m in pair["mechanisms"]] == [
        "The serum concentration of Digoxin can be increased when it is combined with Amiodarone."]
    assert [f["source"] for f in pair["facts"]] == ["drugbank-ddi-86"]
    ddinter = next(c for c in pair["coverage"] if c["source"] == "ddinter")
    assert ddinter["covered"] is False
    assert "no DDInter grade" in pair["severity_note"] and "C, G, J, M, N, S" in pair["severity_note"]


def test_example_ddinter_unknown_is_not_graded_and_says_ddinter(example) -> None:
    pair = _pair(example, "DB00390", "DB00682")  # digoxin-warfarin: DDInter level Unknown, no mechanism
    assert pair["severity"] == "not graded"
    assert pair["severity_source"] == "ddinter"
    assert "'Unknown'" in pair["severity_note"]


def test_example_sorted_major_first_and_counts(example) -> None:
    order = {"Major": 0, "Moderate": 1, "Minor": 2, "not graded": 3}
    ranks = [order[p["severity"]] for p in example["interactions"]]
    assert ranks == sorted(ranks)
    assert example["summary"]["by_severity"] == {"Major": 7, "Moderate": 1, "Minor": 1, "not graded": 6}
    assert example["summary"]["pairs"] == 15
    # every pair of the six interacts, so nothing is claimed to have "no interaction"
    assert example["no_interaction"] == []
    assert example["warnings"] == []


def test_example_coverage_per_drug_and_source(example) -> None:
    cov = {c["id"]: c for c in example["coverage"]}
    assert cov["DB00682"]["ddinter_groups"] == ["B"] and cov["DB00682"]["ddinter_complete"]
    assert cov["DB00390"]["in_ddinter"] and not cov["DB00390"]["ddinter_complete"]  # digoxin: group C
    assert all(c["in_drugbank_ddi_86"] for c in cov.values())
    note = next(s["note"] for s in cov["DB00390"]["sources"] if s["source"] == "ddinter")
    assert "C, G, J, M, N, S are missing" in note


def test_no_known_interaction_versus_not_covered(client) -> None:
    # Lithium-warfarin: both sources cover the pair and list nothing. Quinidine barbiturate: in no source.
    body = client.post("/interactions/check", json={"drugs": ["warfarin", "lithium", "Quinidine barbiturate"]}).json()
    assert body["interactions"] == []
    status = {frozenset((p["drug_a"]["id"], p["drug_b"]["id"])): p for p in body["no_interaction"]}
    covered = status[frozenset(("DB00682", "DB01356"))]
    assert covered["status"] == "no known interaction"
    assert covered["covered_by"] == ["ddinter", "drugbank-ddi-86"]
    for other in ("DB00682", "DB01356"):
        pair = status[frozenset((other, "DB01346"))]
        assert pair["status"] == "not covered"
        assert pair["covered_by"] == []
        assert "no interaction" not in pair["note"].replace("not evidence that the two do not interact", "")
    assert body["summary"]["not_covered_pairs"] == 2
    assert any(w["kind"] == "not_covered" and w["drug_id"] == "DB01346" for w in body["warnings"])


def test_unresolved_entries_are_listed_with_suggestions(client) -> None:
    body = client.post("/interactions/check", json={"drugs": ["warfarin", "simvastatn", "qqqzzzxx", "Isosorbide"]})
    assert body.status_code == 200
    entries = body.json()["entries"]
    assert [e["input"] for e in entries] == ["warfarin", "simvastatn", "qqqzzzxx", "Isosorbide"]
    assert entries[1]["status"] == "resolved" and entries[1]["drugs"][0]["id"] == "DB00641"
    assert entries[1]["drugs"][0]["method"] == "fuzzy"
    assert entries[2]["status"] == "unresolved" and entries[2]["drugs"] == []
    unresolved = client.post("/interactions/check", json={"drugs": ["warfarn sodiumm tabs"]}).json()["entries"][0]
    assert unresolved["status"] == "unresolved"
    assert unresolved["suggestions"] and unresolved["suggestions"][0]["id"] == "DB00682"


def test_ambiguous_entry_lists_candidates(client) -> None:
    entry = client.post("/interactions/check", json={"drugs": ["Yaz"]}).json()["entries"][0]
    assert entry["status"] == "ambiguous"
    assert "DB01395" in {c["id"] for c in entry["candidates"]}


def test_duplicate_ingredient_warnings(client) -> None:
    body = client.post("/interactions/check", json={"drugs": [
        "aspirin", "Acetylsalicylic acid", "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet",
        "Tylenol"]}).json()
    dups = {w["drug_id"]: w for w in body["warnings"] if w["kind"] == "duplicate_ingredient"}
    assert set(dups) == {"DB00945", "DB00316"}
    assert dups["DB00945"]["entries"] == [0, 1]
    assert "both resolve to Acetylsalicylic acid" in dups["DB00945"]["message"]
    assert dups["DB00316"]["entries"] == [2, 3]
    assert "share the ingredient Acetaminophen" in dups["DB00316"]["message"]
    assert [d["id"] for d in body["entries"][2]["drugs"]] == ["DB00316", "DB00497"]


def test_fifty_drug_cap_and_empty_list(client) -> None:
    ok = client.post("/interactions/check", json={"drugs": ["warfarin"] * 50})
    assert ok.status_code == 200
    too_many = client.post("/interactions/check", json={"drugs": ["warfarin"] * 51})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "drugs"]
    assert client.post("/interactions/check", json={"drugs": []}).status_code == 422
    blank = client.post("/interactions/check", json={"drugs": ["warfarin", "  "]})
    assert blank.status_code == 422 and "entry 1 is blank" in blank.text


def test_drug_interactions_paged_and_filtered(client) -> None:
    first = client.get("/drugs/DB00682/interactions", params={"severity": "Major", "limit": 5}).json()
    assert first["total"] > 100
    assert [i["severity"] for i in first["items"]] == ["Major"] * 5
    second = client.get("/drugs/DB00682/interactions", params={"severity": "Major", "limit": 5, "offset": 5}).json()
    assert second["total"] == first["total"]
    assert not {i["partner"]["id"] for i in first["items"]} & {i["partner"]["id"] for i in second["items"]}
    everything = client.get("/drugs/warfarin/interactions", params={"limit": 1}).json()
    assert everything["drug"]["id"] == "DB00682" and everything["total"] > first["total"]
    graded = client.get("/drugs/DB00682/interactions",
                        params={"severity": ["Major", "Moderate", "Minor", "not graded"], "limit": 1}).json()
    assert graded["total"] == everything["total"]
    aspirin = first["items"][2]  # sorted by name within Major: Abciximab, Acalabrutinib, Acetylsalicylic acid
    assert aspirin["partner"] == {"id": "DB00945", "name": "Acetylsalicylic acid"}
    assert aspirin["mechanisms"][0]["sentence"] == "Acetylsalicylic acid may increase the anticoagulant activities " \
                                                   "of Warfarin."


def test_drug_interactions_caps_and_404(client) -> None:
    too_big = client.get("/drugs/DB00682/interactions", params={"limit": 201})
    assert too_big.status_code == 422 and too_big.json()["detail"][0]["loc"] == ["query", "limit"]
    bad_severity = client.get("/drugs/DB00682/interactions", params={"severity": "Severe"})
    assert bad_severity.status_code == 422
    missing = client.get("/drugs/warfarinn zzz/interactions")
    assert missing.status_code == 404
    assert missing.json()["suggestions"][0]["id"] == "DB00682"
