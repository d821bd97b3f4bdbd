"""API test fixtures: a TestClient on the real graph with a researcher key and no practical rate limit.

`built_graph` comes from tests/conftest.py (builds the real graph once per session, or with
MEDKG_TEST_GRAPH_PREBUILT=1 only checks that an already-built graph is there).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.settings import Settings


@pytest.fixture(scope="module")
def client(built_graph: object, settings: Settings, api_keys: dict[str, str]) -> Iterator[TestClient]:
    unlimited = settings.model_copy(update={"medkg_rate_limit": 1e6, "medkg_rate_burst": 1_000_000})
    with TestClient(create_app(unlimited), headers={"X-API-Key": api_keys["researcher"]}) as c:
        yield c


def graph_counts(client: TestClient) -> tuple[int, int]:
    """(nodes, relationships), read through the API's own read-only endpoint."""
    rows = client.post("/cypher", json={"query": "MATCH (n) RETURN count(n) AS n"}).json()["rows"]
    rels = client.post("/cypher", json={"query": "MATCH ()-[r]->() RETURN count(r) AS n"}).json()["rows"]
    return rows[0]["n"], rels[0]["n"]
