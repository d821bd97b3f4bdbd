"""Every route declares its roles; missing or wrong keys get 401, too-weak roles 403; limits answer 413/429."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import KeyStore, Role, RoleRequirement
from kg.settings import Settings

pytestmark = pytest.mark.neo4j
OPEN = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/browser/guide.html",
        "/browser/medkg.grass",
        "/static/docs/redoc.standalone.js"}  # a docs asset (the others under /static/docs are a static mount)


def _requirement(route) -> RoleRequirement | None:
    for dep in route.dependant.dependencies:
        if isinstance(dep.call, RoleRequirement):
            return dep.call
    return None


def _all_routes(routes) -> list:
    """Every HTTP route of the app, unwrapping included routers (FastAPI >= 0.165 keeps them nested)."""
    out = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "effective_route_contexts"):
            out.extend(c for c in r.effective_route_contexts() if getattr(c, "methods", None))
    return out


def _routes(app) -> list:
    return [r for r in _all_routes(app.routes) if r.path not in OPEN]


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_declares_roles(settings: Settings) -> None:
    app = create_app(settings)
    routes = _routes(app)
    assert routes, "the app has no protected routes"
    undeclared = [r.path for r in routes if _requirement(r) is None]
    assert undeclared == []


def test_every_route_refuses_missing_wrong_and_weak_keys(settings: Settings, api_keys: dict[str, str]) -> None:
    app = create_app(settings)
    checked = 0
    with TestClient(app) as client:
        for route in _routes(app):
            roles = _requirement(route).roles
            for method in route.methods - {"HEAD", "OPTIONS"}:
                url = _url(route.path)
                assert client.request(method, url).status_code == 401, (method, url)
                wrong = client.request(method, url, headers={"X-API-Key": "mk_00000000_nope"})
                assert wrong.status_code == 401, (method, url)
                for role in (Role.clinician, Role.researcher):
                    if role not in roles:
                        weak = client.request(method, url, headers={"X-API-Key": api_keys[role]})
                        assert weak.status_code == 403, (method, url, role)
                        assert role.value in weak.json()["detail"]
                checked += 1
    assert checked == len([m for r in _routes(app) for m in r.methods - {"HEAD", "OPTIONS"}])


def test_revoked_key_is_refused(settings: Settings, tmp_path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, secret = store.create("bob", "researcher")
    assert store.verify(secret) is not None
    assert json.loads((tmp_path / "keys.json").read_text())[0]["hash"] != secret.split("_", 2)[2]
    assert store.revoke(key.id) is True
    assert store.verify(secret) is None


def test_oversized_body_is_413(settings: Settings, admin_headers: dict[str, str]) -> None:
    small = settings.model_copy(update={"medkg_max_body_bytes": 1000})
    app = create_app(small)
    route = next(r for r in _routes(app) if "POST" in r.methods)
    with TestClient(app) as client:
        resp = client.post(_url(route.path), content=b"x" * 5000, headers={**admin_headers,
                                                                          "content-type": "application/json"})
    assert resp.status_code == 413
    assert "1000 bytes" in resp.json()["detail"]


def test_rate_limit_is_429(settings: Settings, api_keys: dict[str, str]) -> None:
    slow = settings.model_copy(update={"medkg_rate_limit": 0.01, "medkg_rate_burst": 3})
    app = create_app(slow)
    route = next(r for r in _routes(app) if "GET" in r.methods and "{" not in r.path)
    codes = []
    with TestClient(app) as client:
        for _ in range(5):
            codes.append(client.get(route.path, headers={"X-API-Key": api_keys["admin"]}).status_code)
    assert 429 in codes
    assert codes.index(429) == 3
