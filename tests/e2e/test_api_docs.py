"""The API's docs work offline: /docs renders in Chromium with every request to another host refused, and no
page the service serves points at an outside host."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
import uvicorn
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from kg.settings import Settings

LOCAL = "127.0.0.1"
# src/href/url(...) attributes in HTML, and any absolute URL in JSON
ATTR_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*['"]?([^'")]+)""", re.I)
ABSOLUTE = re.compile(r"""https?://[^\s"'<>)\\]+""", re.I)
OPERATION_SUMMARY = "Check a medication list for drug-drug interactions"


def outside_urls(urls: list[str]) -> list[str]:
    """The absolute (or protocol-relative) URLs that point at a host other than the service itself."""
    out = []
    for u in urls:
        host = urlparse(u if "//" in u else "").hostname
        if host and host not in (LOCAL, "localhost", "testserver"):
            out.append(u)
    return out


def test_outside_url_detector() -> None:
    html = '<link href="/static/docs/x.css"><script src="https://cdn.jsdelivr.net/x.js"></script>' \
           '<img src="//fonts.example.org/a.png"><a href="http://127.0.0.1:8000/docs">'
    found = [a or b for a, b in ATTR_URL.findall(html)]
    assert outside_urls(found) == ["https://cdn.jsdelivr.net/x.js", "//fonts.example.org/a.png"]


def test_no_served_page_references_an_outside_host() -> None:
    app = create_app(Settings())  # no lifespan needed: the pages checked are the open ones
    client = TestClient(app, raise_server_exceptions=False)
    paths = sorted({r.path for r in app.routes if isinstance(r, APIRoute) and "GET" in r.methods
                    and "{" not in r.path} | {"/openapi.json"})
    checked: dict[str, list[str]] = {}
    for path in paths:
        r = client.get(path)
        kind = r.headers.get("content-type", "")
        if r.status_code != 200:
            continue
        if "html" in kind:
            checked[path] = outside_urls([a or b for a, b in ATTR_URL.findall(r.text)])
        elif "json" in kind:
            checked[path] = outside_urls(ABSOLUTE.findall(r.text))
    assert {"/docs", "/redoc", "/docs/oauth2-redirect", "/openapi.json"} <= set(checked), sorted(checked)
    assert {p: bad for p, bad in checked.items() if bad} == {}
    docs = client.get("/docs").text
    assert 'src="/static/docs/swagger-ui-bundle.js"' in docs
    assert 'src="/static/docs/redoc.standalone.js"' in client.get("/redoc").text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        r = client.get(f"/static/docs/{asset}")
        assert r.status_code == 200 and len(r.content) > 1000, asset


@pytest.fixture
def api_url() -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread; no lifespan: the docs need no database."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOCAL, 0))
    server = uvicorn.Server(uvicorn.Config(create_app(Settings()), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the API did not start within 60 s"
    try:
        yield f"http://{LOCAL}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.mark.browser
def test_docs_render_with_the_network_cut_off(browser_page, api_url: str) -> None:
    blocked: list[str] = []

    def only_loopback(route) -> None:
        if urlparse(route.request.url).hostname == LOCAL:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    browser_page.route("**/*", only_loopback)
    operations = sum(len([m for m in ops if m in {"get", "post", "put", "patch", "delete"}])
                     for ops in browser_page.request.get(f"{api_url}/openapi.json").json()["paths"].values())
    assert operations >= 15

    browser_page.goto(f"{api_url}/docs", timeout=60_000)
    browser_page.locator(".opblock").first.wait_for(state="visible", timeout=60_000)
    assert browser_page.locator(".opblock").count() == operations
    assert browser_page.get_by_text(OPERATION_SUMMARY).count() >= 1
    assert browser_page.locator(".info .title").inner_text().startswith("MedKG")

    browser_page.goto(f"{api_url}/redoc", timeout=60_000)
    browser_page.get_by_text(OPERATION_SUMMARY).first.wait_for(state="attached", timeout=60_000)
    assert blocked == [], f"the docs pages asked other hosts for: {blocked}"
