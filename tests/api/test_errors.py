"""One exception root, `except Exception` only at outermost boundaries, "model unavailable" -> 503 in one
handler, and /health that never reports a bug as "Neo4j down"."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api
import kg
from api.app import create_app
from kg.errors import DatabaseUnavailable, MedKGError, ModelUnavailable
from kg.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [ROOT / "api", ROOT / "kg"]
BOUNDARY = "outermost boundary"  # the comment that marks an allowed `except Exception`


def _own_exceptions(package) -> list[type]:
    found = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        found += [c for _, c in inspect.getmembers(module, inspect.isclass)
                  if issubclass(c, BaseException) and c.__module__ == info.name]
    return found


def test_every_exception_of_kg_and_api_derives_from_medkgerror() -> None:
    own = _own_exceptions(kg) + _own_exceptions(api)
    names = {c.__name__ for c in own}
    assert {"DiagnosisUnavailable", "RecommenderUnavailable", "SemanticUnavailable", "QueryTimeout"} <= names
    assert [c.__qualname__ for c in own if not issubclass(c, MedKGError)] == []
    assert [c.__name__ for c in own if c.__name__.endswith("Unavailable") and c is not DatabaseUnavailable
            and not issubclass(c, ModelUnavailable)] == []


def _broad_handlers(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text().splitlines()
    out = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.ExceptHandler):
            names = [node.type] if not isinstance(node.type, ast.Tuple) else list(node.type.elts)
            if node.type is None or any(isinstance(n, ast.Name) and n.id in ("Exception", "BaseException")
                                        for n in names):
                out.append((node.lineno, lines[node.lineno - 1]))
    return out


def test_except_exception_only_at_marked_outermost_boundaries() -> None:
    found = {f"{p.relative_to(ROOT)}:{n}": line.strip() for d in PRODUCT for p in sorted(d.rglob("*.py"))
             for n, line in _broad_handlers(p)}
    assert found, "the thread boundaries catch Exception (and say so): the walker must see them"
    assert {k: v for k, v in found.items() if BOUNDARY not in v} == {}


def test_no_route_builds_a_503_by_hand() -> None:
    by_hand = []
    for path in sorted((ROOT / "api" / "routes").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "HTTPException":
                codes = [k.value for k in node.keywords if k.arg == "status_code"]
                if any(isinstance(c, ast.Constant) and c.value == 503 for c in codes):
                    by_hand.append(f"{path.name}:{node.lineno}")
    assert by_hand == []


@pytest.fixture(scope="module")
def client(settings: Settings, api_keys: dict[str, str]):
    with TestClient(create_app(settings), headers={"X-API-Key": api_keys["admin"]},
                    raise_server_exceptions=False) as c:
        yield c


@pytest.mark.neo4j
def test_health_reports_a_bug_as_500_with_request_id_not_as_neo4j_down(client: TestClient,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    builds = client.app.state.services.interactions.builds

    def bug() -> None:
        raise TypeError("a programming error")

    monkeypatch.setattr(builds, "current", bug)
    r = client.get("/health", headers={"X-Request-ID": "req-health-1"})
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error", "request_id": "req-health-1"}
    assert r.headers["x-request-id"] == "req-health-1"

    def down() -> None:
        raise DatabaseUnavailable("Neo4j is unreachable: test")

    monkeypatch.setattr(builds, "current", down)
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["neo4j"] == "down" and "test" in r.json()["error"]


@pytest.mark.neo4j
def test_model_unavailable_is_503_with_its_message(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.services.recommend import RecommenderUnavailable

    def unavailable(*_: object, **__: object) -> None:
        raise RecommenderUnavailable("drug recommendation model unavailable: test")

    monkeypatch.setattr(client.app.state.recommend, "recommend", unavailable)
    r = client.get("/recommendations", params={"disease": "DOID:9352"})
    assert (r.status_code, r.json()) == (503, {"detail": "drug recommendation model unavailable: test"})
    assert len(r.headers["x-request-id"]) == 16  # a fresh id when the caller sends none


@pytest.mark.neo4j
def test_request_id_is_echoed_only_when_sane(client: TestClient) -> None:
    assert client.get("/health", headers={"X-Request-ID": "abc.DEF_1-2"}).headers["x-request-id"] == "abc.DEF_1-2"
    odd = client.get("/health", headers={"X-Request-ID": "x" * 65}).headers["x-request-id"]
    assert odd != "x" * 65 and len(odd) == 16
