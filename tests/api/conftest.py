"""API test fixtures: a TestClient on the real graph with a researcher key and no practical rate limit.

`built_graph` comes from tests/conftest.py (builds the real graph once per session). To run these tests
against a Neo4j that already holds the built graph without rebuilding it, set MEDKG_TEST_GRAPH_PREBUILT=1:
the stand-in below then only checks that the graph is there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.settings import Settings

if os.environ.get("MEDKG_TEST_GRAPH_PREBUILT"):

    @pytest.fixture(scope="session")
    def built_graph(settings: Settings) -> Iterator[None]:
        from kg.db import driver_session, read

        with driver_session(settings) as drv:
            n = read(drv, "MATCH (d:Drug) RETURN count(d) AS n")[0]["n"]
        if n <= 1000:
            pytest.fail(f"MEDKG_TEST_GRAPH_PREBUILT is set but the graph has only {n} Drug nodes: build it first")
        yield


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
