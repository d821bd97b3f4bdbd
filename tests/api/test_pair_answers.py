"""The building blocks of the check's serialised answer: the bounded cache and the JSON assembly."""

from __future__ import annotations

import json

import pytest

from api.services.lru import Lru
from api.services.pair_answers import PairAnswer, json_array, json_object


def test_lru_drops_the_least_recently_used_entry() -> None:
    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (1, None, 3, 2)
    with pytest.raises(ValueError, match="capacity must be >= 1, got 0"):
        Lru(0)


def _pair(**extra: object) -> dict:
    return {"drug_a": {"id": "DB1", "name": "Warfarin"}, "drug_b": {"id": "DB2", "name": "aspirin"}, **extra}


def test_an_interacting_pair_gets_its_entries_and_a_quiet_pair_stays_as_it_was() -> None:
    hit = PairAnswer.of(_pair(severity="Major", facts=[{"source": "ddinter"}], predicted=None))
    assert (hit.interacting, hit.rank, hit.name_a, hit.predicted) == (True, 0, "warfarin", False)
    assert json.loads(hit.body([0, 3])) == _pair(severity="Major", facts=[{"source": "ddinter"}], predicted=None,
                                                  entries=[0, 3])
    quiet = PairAnswer.of(_pair(status="no known interaction", predicted={"p": 0.2}))
    assert (quiet.interacting, quiet.rank, quiet.predicted) == (False, 1, True)
    assert quiet.body([1]) == quiet.json
    uncovered = PairAnswer.of(_pair(status="not covered", predicted=None))
    assert sorted([quiet, uncovered], key=PairAnswer.sort_key) == [uncovered, quiet]  # not covered first


def test_json_assembly_gives_the_same_document_as_serialising_it_whole() -> None:
    doc = json_object({"a": b"[1,2]", "b\"q": json_array([b'{"x":1}', b"null"]), "c": json_array([])})
    assert json.loads(doc) == {"a": [1, 2], 'b"q': [{"x": 1}, None], "c": []}
