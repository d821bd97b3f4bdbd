"""GNN test fixtures. With MEDKG_TEST_GRAPH_PREBUILT=1 the `built_graph` of tests/conftest.py is replaced by a
stand-in that only checks the test Neo4j already holds the real graph (no rebuild)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from kg.settings import Settings

if os.environ.get("MEDKG_TEST_GRAPH_PREBUILT"):

    @pytest.fixture(scope="session")
    def built_graph(settings: Settings) -> Iterator[None]:
        from kg.db import driver_session, read

        with driver_session(settings) as drv:
            n = read(drv, "MATCH (d:Drug) RETURN count(d) AS n")[0]["n"]
        if n <= 1000:
            pytest.fail(f"the test graph has only {n} Drug nodes: build it first")
        yield
