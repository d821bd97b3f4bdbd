"""The Neo4j Browser served by the test Neo4j: open it in Chromium, connect, run Cypher, see the result."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.browser_helpers import BrowserQueryError, open_browser_session, run_cypher

pytestmark = [pytest.mark.browser, pytest.mark.neo4j]

MARKER_QUERY = "RETURN 'medkg-e2e' AS marker, 6*7 AS answer"


def test_browser_connects_and_shows_query_result(browser_page, browser_target, artefacts_dir: Path) -> None:
    open_browser_session(browser_page, browser_target.http_port, browser_target.bolt_port, browser_target.password)
    text = run_cypher(browser_page, MARKER_QUERY)
    shot = artefacts_dir / "browser-query-result.png"
    browser_page.screenshot(path=str(shot))

    assert "marker" in text and "answer" in text, text
    assert '"medkg-e2e"' in text, text  # the Browser's table shows strings quoted
    assert re.search(r"\b42\b", text), text
    assert shot.stat().st_size > 10_000

    # A failing query shows the server's error in its frame (and the helper reports it, not a timeout).
    with pytest.raises(BrowserQueryError, match=r"UnknownFunction|Unknown function"):
        run_cypher(browser_page, "RETURN medkg_no_such_function(1) AS x")
