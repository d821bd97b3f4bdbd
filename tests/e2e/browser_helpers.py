"""Drive the Neo4j Browser (5.x, a React app) in headless Chromium with Playwright.

Selectors are the Browser's own `data-testid` attributes, which are stable across 5.x releases:
`boltaddress`, `username`, `password`, `connect` (connect form), `activeEditor`, `editor-Run`
(main editor), `frame`, `frame-loaded-contents`, `frameContents`, `cypherFrameSidebarTable`,
`cypherFrameErrorMessage` (result frames; the newest frame is first in the stream).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LOAD_TIMEOUT_MS = 60_000  # first load of the Browser app on 2 busy cores
CONNECT_TIMEOUT_MS = 30_000
QUERY_TIMEOUT_MS = 60_000


_CONNECT_SETTLED_JS = """() => {
  if (document.body.innerText.includes('You are connected as user')) return true;
  const bar = document.querySelector('[data-testid=frame] [data-testid=frameStatusbar]');
  return !!bar && /Neo\\.|Error/.test(bar.innerText);
}"""


class BrowserQueryError(AssertionError):
    """The Browser showed an error frame for a query (or no result within the timeout)."""


def chromium_path() -> str | None:
    """Debian's Chromium, if installed (never a browser downloaded by Playwright)."""
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def launch_context(playwright: Any, user_data_dir: Path, executable: str) -> Any:
    """A headless Chromium with a fresh profile (no stored Browser credentials or settings)."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=executable,
        args=CHROMIUM_ARGS,
        headless=True,
        viewport={"width": 1400, "height": 900},
        timeout=LOAD_TIMEOUT_MS,
    )


def open_browser_session(page: Any, http_port: int, bolt_port: int, password: str, user: str = "neo4j") -> None:
    """Open the Browser at 127.0.0.1:`http_port` and connect to bolt://127.0.0.1:`bolt_port`."""
    page.goto(f"http://127.0.0.1:{http_port}/browser/", timeout=LOAD_TIMEOUT_MS)
    address = page.get_by_test_id("boltaddress")
    address.wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
    address.fill(f"bolt://127.0.0.1:{bolt_port}")
    page.get_by_test_id("username").fill(user)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("connect").click()
    try:  # connected, or the connect frame's status bar shows a Neo4j error (bad password, rate limit, ...)
        page.wait_for_function(_CONNECT_SETTLED_JS, timeout=CONNECT_TIMEOUT_MS)
    except Exception as exc:
        raise BrowserQueryError(f"Neo4j Browser did not connect to bolt://127.0.0.1:{bolt_port} "
                                f"within {CONNECT_TIMEOUT_MS} ms") from exc
    if not page.get_by_text("You are connected as user").count():
        status = page.get_by_test_id("frameStatusbar").first.inner_text().strip()
        raise BrowserQueryError(f"Neo4j Browser did not connect to bolt://127.0.0.1:{bolt_port}: {status}")


def run_cypher(page: Any, query: str, timeout_ms: int = QUERY_TIMEOUT_MS, table: bool = True) -> str:
    """Type a Cypher `query` into the main editor, run it, and return the text of its result frame.

    Graph results open in the graph view; with `table` (default) the frame is switched to its table view
    so that the returned text holds every value. Raises BrowserQueryError on an error frame.
    """
    frames = page.get_by_test_id("frame")
    before = frames.count()
    editor = page.get_by_test_id("activeEditor")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(query)  # plain text input: no Monaco auto-closing of quotes/brackets
    page.get_by_test_id("editor-Run").click()

    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=frame]').length > n", arg=before, timeout=timeout_ms
    )
    frame = frames.first
    done = frame.locator("[data-testid=frame-loaded-contents], [data-testid=cypherFrameErrorMessage]")
    try:
        done.first.wait_for(state="visible", timeout=timeout_ms)
    except Exception as exc:
        raise BrowserQueryError(f"no result frame within {timeout_ms} ms for: {query}") from exc
    error = frame.get_by_test_id("cypherFrameErrorMessage")
    if error.count():
        raise BrowserQueryError(f"Neo4j Browser error for {query!r}: {frame.inner_text()}")
    table_tab = frame.get_by_test_id("cypherFrameSidebarTable")
    if table and frame.get_by_test_id("cypherFrameSidebarVisualization").count() and table_tab.count():
        table_tab.click()
    return str(frame.get_by_test_id("frameContents").inner_text(timeout=timeout_ms))


_DROP_FILE_JS = """([name, text]) => {
  const target = document.querySelector('.filedrop') || document.body;
  const data = new DataTransfer();
  data.items.add(new File([text], name, {type: 'text/plain'}));
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: data}));
  }
}"""


def load_style(page: Any, grass: str, filename: str = "medkg.grass", timeout_ms: int = QUERY_TIMEOUT_MS) -> str:
    """Drop a .grass style sheet onto the Browser (as a user would) and return the `:style` frame it opens.

    The frame shows the style the Browser parsed and now applies, so it is the check that the file was read.
    """
    frames = page.get_by_test_id("frame")
    before = frames.count()
    page.evaluate(_DROP_FILE_JS, [filename, grass])
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=frame]').length > n", arg=before, timeout=timeout_ms
    )
    frame = frames.first
    frame.get_by_test_id("styleResetButton").wait_for(state="attached", timeout=timeout_ms)
    return str(frame.get_by_test_id("frameContents").inner_text(timeout=timeout_ms))


def graph_node_styles(page: Any, timeout_ms: int = QUERY_TIMEOUT_MS) -> list[dict[str, str]]:
    """Caption, fill and stroke of each node drawn in the newest frame's graph view (waits for the drawing: the
    overview panel can show the counts before the canvas has its nodes)."""
    page.wait_for_function(
        "() => { const f = document.querySelector('[data-testid=frame]');"
        " return !!(f && f.querySelector('svg g.node circle.b-outline')); }",
        timeout=timeout_ms)
    return list(page.get_by_test_id("frame").first.evaluate("""frame => Array.from(
        frame.querySelectorAll('svg g.node')).map(g => {
          const circle = g.querySelector('circle.b-outline');
          const caption = Array.from(g.querySelectorAll('text.caption')).map(t => t.textContent.trim()).join(' ');
          const attr = name => (circle ? circle.getAttribute(name) : '');
          return {caption, fill: attr('fill'), stroke: attr('stroke')};
        })"""))
