"""API test fixtures. `built_graph` is a temporary stand-in: the lead replaces it with a session fixture in
tests/conftest.py that builds the real graph once; this one only checks that the graph is already there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.settings import Settings


@pytest.fixture(scope="session")
def built_graph(settings: Settings) -> Iterator[None]:
    from kg.db import driver_session, read

    with driver_session(settings) as drv:
        n = read(drv, "MATCH (d:Drug) RETURN count(d) AS n")[0]["n"]
    if n <= 1000:
        pytest.fail(f"the API tests need the full graph (found {n} Drug nodes): run `medkg build` first")
    yield


@pytest.fixture(scope="module")
def client(built_graph: None, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def graph_counts(client: TestClient) -> tuple[int, int]:
    """(nodes, relationships), read through the API's own read-only endpoint."""
    rows = client.post("/cypher", json={"query": "MATCH (n) RETURN count(n) AS n"}).json()["rows"]
    rels = client.post("/cypher", json={"query": "MATCH ()-[r]->() RETURN count(r) AS n"}).json()["rows"]
    return rows[0]["n"], rels[0]["n"]
