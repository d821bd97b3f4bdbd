"""Neo4j unreachable -> 503 on every graph endpoint, and recovery without restarting the API.

The app talks to the real graph through a loopback TCP proxy that the test cuts and restores. The app re-reads
the newest build on every check (`medkg_build_check_seconds` 0): by default interaction checks are answered from
memory for up to 1 s after Neo4j goes away (`test_check_answers_from_memory_within_the_ttl`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.settings import Settings

pytestmark = pytest.mark.neo4j


class TcpProxy:
    """127.0.0.1:port -> target; `cut()` closes the listener and every connection, `restore()` listens again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            self._listener.close()
            self._listener = None
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxied(built_graph: object, settings: Settings, api_keys: dict[str, str]) -> Iterator[tuple[TestClient, TcpProxy]]:
    target = urlparse(settings.bolt_uri)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 7687)
    proxy.restore()
    via = settings.model_copy(update={"neo4j_uri": f"bolt://127.0.0.1:{proxy.port}", "medkg_rate_limit": 1e6,
                                      "medkg_rate_burst": 1_000_000, "medkg_build_check_seconds": 0.0})
    with TestClient(create_app(via), headers={"X-API-Key": api_keys["researcher"]}) as client:
        yield client, proxy
    proxy.cut()


CALLS = [
    ("post", "/interactions/check", {"json": {"drugs": ["warfarin", "aspirin"]}}),
    ("get", "/drugs/DB00682/interactions", {"params": {"limit": 1}}),
    ("get", "/entities/Drug/DB00945", {}),
    ("post", "/cypher", {"json": {"query": "RETURN 1 AS one"}}),
]


def test_503_while_down_then_recovers(proxied) -> None:
    client, proxy = proxied
    for method, url, kwargs in CALLS:
        assert getattr(client, method)(url, **kwargs).status_code == 200, url
    proxy.cut()
    for method, url, kwargs in (CALLS[0], CALLS[3]):  # both driver gateways: run_read and read_tx (~3 s each)
        down = getattr(client, method)(url, **kwargs)
        assert down.status_code == 503, (url, down.text[:200])
        assert down.json()["detail"] == "graph database unavailable"
    # search needs only the in-memory vocabulary and the cached coverage: it keeps answering
    assert client.get("/drugs/search", params={"q": "warfarin"}).json()["candidates"][0]["id"] == "DB00682"
    proxy.restore()
    for method, url, kwargs in CALLS:
        assert getattr(client, method)(url, **kwargs).status_code == 200, url


def test_routes_need_a_key(proxied) -> None:
    client, _ = proxied
    assert client.post("/interactions/check", json={"drugs": ["warfarin"]}, headers={"X-API-Key": ""}).status_code \
        == 401


def test_check_answers_from_memory_within_the_ttl(built_graph: object, settings: Settings,
                                                  api_keys: dict[str, str]) -> None:
    """With a long TTL a warm app keeps answering checks from its store while Neo4j is away; the view of the
    build is then at most that old, and an expired view means a real query (503 while it is down)."""
    target = urlparse(settings.bolt_uri)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 7687)
    proxy.restore()
    via = settings.model_copy(update={"neo4j_uri": f"bolt://127.0.0.1:{proxy.port}", "medkg_rate_limit": 1e6,
                                      "medkg_rate_burst": 1_000_000, "medkg_build_check_seconds": 3600.0})
    body = {"json": {"drugs": ["warfarin", "aspirin"]}}
    try:
        with TestClient(create_app(via), headers={"X-API-Key": api_keys["researcher"]}) as client:
            for _ in range(600):  # the warm-up thread loads the store (a few seconds)
                health = client.get("/health").json()
                if health.get("interaction_store"):
                    break
                time.sleep(0.1)
            assert health["interaction_store"]["facts"] > 250_000
            before = client.post("/interactions/check", **body)
            proxy.cut()
            during = client.post("/interactions/check", **body)
            assert during.status_code == 200 and during.json() == before.json()
            client.app.state.services.interactions.builds.ttl = 0.0  # the view expires: a real re-read
            assert client.post("/interactions/check", **body).status_code == 503
    finally:
        proxy.cut()
