"""`/health` runs a real query: 503 while Neo4j is down, green again without restarting the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import scratch_settings

pytestmark = pytest.mark.neo4j


def test_health_green_on_test_server(settings) -> None:
    with TestClient(create_app(settings)) as client:
        resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"


def test_health_503_then_recovers(scratch_server) -> None:
    scratch_server.start()
    with TestClient(create_app(scratch_settings(scratch_server))) as client:
        assert client.get("/health").status_code == 200
        scratch_server.stop()
        down = client.get("/health")
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
        assert down.json()["neo4j"] == "down"
        scratch_server.start()
        again = client.get("/health")
        assert again.status_code == 200, again.text
        assert again.json()["neo4j"] == "up"
