"""Neo4j Browser ready on connect: a private Neo4j whose conf (written by Neo4jServer, as `medkg neo4j start`
writes it) points `browser.post_connect_cmd` at a MedKG API serving the style sheet and the guide; Chromium
connects and finds the guide open and the style applied, without any action of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.server import free_port
from tests.conftest import scratch_settings
from tests.e2e.browser_helpers import LOAD_TIMEOUT_MS, graph_node_styles, open_browser_session, run_cypher

pytestmark = [pytest.mark.browser, pytest.mark.neo4j, pytest.mark.slow]
DRUG_FILL = "#4C8EDA"  # node.Drug colour in browser/medkg.grass


@pytest.fixture
def guided_neo4j(scratch_server, tmp_path: Path) -> Iterator[tuple]:
    """The scratch Neo4j with the guide settings, one Drug node, and the API serving guide and style."""
    import uvicorn

    from api.app import create_app
    from kg.db import make_driver, write

    api_port = free_port()
    scratch_server.guide_base = f"http://127.0.0.1:{api_port}"
    scratch_server.start()
    conf = (scratch_server.conf_dir / "neo4j.conf").read_text()
    assert (f"browser.post_connect_cmd=style http://127.0.0.1:{api_port}/browser/medkg.grass; "
            f"play http://127.0.0.1:{api_port}/browser/guide.html") in conf
    assert "browser.remote_content_hostname_whitelist=127.0.0.1,localhost" in conf
    settings = scratch_settings(scratch_server).model_copy(update={"medkg_home": tmp_path / "medkg"})
    driver = make_driver(settings)
    write(driver, "CREATE (:Drug {id: 'DB00682', name: 'Warfarin'})")
    driver.close()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=api_port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started, "the API did not start"
    try:
        yield scratch_server, api_port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_guide_opens_and_style_applies_on_connect(guided_neo4j, browser_page, artefacts_dir: Path) -> None:
    neo4j, _ = guided_neo4j
    open_browser_session(browser_page, neo4j.http_port, neo4j.bolt_port, neo4j.password)
    # the guide frame opened by itself: its first slide, then (slide 4) the example queries as runnable blocks
    browser_page.wait_for_function("() => document.body.innerText.includes('A medical knowledge graph')",
                                   timeout=LOAD_TIMEOUT_MS)
    guide = browser_page.get_by_test_id("frame").filter(has_text="/browser/guide.html").first
    assert ":play http://127.0.0.1:" in guide.inner_text() and "1 / 4" in guide.inner_text()
    for _ in range(3):
        guide.locator("button.next-slide").first.click()
    guide.locator("pre.runnable").first.wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
    runnable = guide.locator("pre.runnable").all_text_contents()
    assert any("toLower(d.name) = 'warfarin'" in q for q in runnable), runnable
    assert len(runnable) >= 10  # every example of browser/example-queries.cypher
    guide.locator("pre.runnable").first.click()  # a click puts the query in the editor
    browser_page.wait_for_function("() => (document.querySelector('[data-testid=activeEditor]') || {})"
                                   ".innerText.includes('INTERACTS_WITH')", timeout=LOAD_TIMEOUT_MS)
    browser_page.screenshot(path=str(artefacts_dir / "browser-guide-on-connect.png"))

    # the style sheet was applied on connect: a Drug is drawn in medkg.grass's Drug colour with its name
    run_cypher(browser_page, "MATCH (d:Drug) RETURN d", table=False)
    styles = graph_node_styles(browser_page)
    assert styles and styles[0]["fill"].upper() == DRUG_FILL and "Warfarin" in styles[0]["caption"], styles
    browser_page.screenshot(path=str(artefacts_dir / "browser-style-on-connect.png"))
