"""`GET /drugs/search`: names, synonyms, brands, ids, typos."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.neo4j


@pytest.mark.parametrize(("query", "drug_id", "method"), [
    ("asprin", "DB00945", "alias"),
    ("Acetylsalicylic acid", "DB00945", "exact"),
    ("Coumadin", "DB00682", "alias"),
    ("db00945", "DB00945", "id"),
    ("warfrin", "DB00682", "fuzzy"),
])
def test_search_ranks_the_right_drug_first(client, query: str, drug_id: str, method: str) -> None:
    body = client.get("/drugs/search", params={"q": query}).json()
    top = body["candidates"][0]
    assert (top["id"], top["method"]) == (drug_id, method)
    assert 0 < top["score"] <= 1


def test_search_typo_gives_ranked_candidates(client) -> None:
    cands = client.get("/drugs/search", params={"q": "clarithromicyn", "limit": 5}).json()["candidates"]
    assert cands[0]["id"] == "DB01211"
    assert [c["score"] for c in cands] == sorted((c["score"] for c in cands), reverse=True)


def test_search_finds_ddinter_only_drugs(client) -> None:
    cands = client.get("/drugs/search", params={"q": "DDInter988"}).json()["candidates"]
    assert cands[0]["id"] == "DDInter988" and cands[0]["name"] == "Isosorbide"


def test_search_validates_limit(client) -> None:
    assert client.get("/drugs/search", params={"q": "x", "limit": 51}).status_code == 422
    assert client.get("/drugs/search", params={"q": ""}).status_code == 422
