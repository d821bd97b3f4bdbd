"""Shared fixtures: the throwaway Neo4j started by the test command, and scratch servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.settings import Settings, get_settings

ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _require_test_neo4j() -> None:
    if not os.environ.get("NEO4J_URI") or not os.environ.get("NEO4J_PASSWORD"):
        pytest.fail("no test Neo4j: run the suite with `bash scripts/test.sh`, which starts one")


@pytest.fixture(scope="session")
def settings() -> Settings:
    _require_test_neo4j()
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def driver(settings: Settings) -> Iterator:
    from kg.db import make_driver

    drv = make_driver(settings)
    yield drv
    drv.close()


@pytest.fixture(scope="session")
def artefacts_dir() -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS


@pytest.fixture
def scratch_server(tmp_path: Path) -> Iterator:
    """A second, private Neo4j (own home and free ports) that a test may stop, kill or corrupt."""
    from kg.server import Neo4jServer

    server = Neo4jServer(home=tmp_path / "neo4j", lib=get_settings().neo4j_lib, bolt_port=0, http_port=0,
                         password="scratch-pass-123", heap="512m", pagecache="128m")
    yield server
    server.stop()


def scratch_settings(server) -> Settings:
    """Settings that point a driver or app at a scratch server."""
    return Settings(neo4j_uri=f"bolt://127.0.0.1:{server.bolt_port}", neo4j_password=server.password,
                    neo4j_home=server.home)


@pytest.fixture(scope="session")
def built_graph(driver, settings: Settings):
    """The real graph, built once per test session from MEDKG_DATA_DIR into the test Neo4j.

    With MEDKG_TEST_GRAPH_PREBUILT=1 (for iterating against a server that already holds the built
    graph) it only checks that the graph is there and yields None instead of a BuildResult.
    """
    from kg.build import build
    from kg.db import read

    if os.environ.get("MEDKG_TEST_GRAPH_PREBUILT"):
        n = read(driver, "MATCH (d:Drug) RETURN count(d) AS n")[0]["n"]
        if n <= 1000:
            pytest.fail(f"MEDKG_TEST_GRAPH_PREBUILT is set but the graph has only {n} Drug nodes: build it first")
        return None

    return build(driver, settings.medkg_data_dir, database=settings.neo4j_database,
                 report_root=settings.medkg_home / "builds", progress=False)


@pytest.fixture(scope="session")
def api_keys(settings: Settings) -> dict[str, str]:
    """One API key per role in the test key store: {"admin": "mk_…", "clinician": …, "researcher": …}."""
    from api.security import KeyStore

    store = KeyStore.from_settings(settings)
    return {role: store.create(f"test-{role}", role)[1] for role in ("admin", "clinician", "researcher")}


@pytest.fixture(scope="session")
def admin_headers(api_keys: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": api_keys["admin"]}
