"""Fixtures for the Neo4j Browser end-to-end tests: a headless Chromium page and the Browser's ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser_helpers import chromium_path, launch_context


@dataclass(frozen=True)
class BrowserTarget:
    """Where the test Neo4j serves the Browser (HTTP) and Bolt, and its password."""

    http_port: int
    bolt_port: int
    password: str


@pytest.fixture(scope="session")
def browser_target() -> BrowserTarget:
    missing = [v for v in ("NEO4J_HTTP_PORT", "NEO4J_BOLT_PORT", "NEO4J_PASSWORD") if not os.environ.get(v)]
    if missing:
        pytest.fail(f"no test Neo4j ({', '.join(missing)} unset): run the suite with `bash scripts/test.sh`")
    return BrowserTarget(int(os.environ["NEO4J_HTTP_PORT"]), int(os.environ["NEO4J_BOLT_PORT"]),
                         os.environ["NEO4J_PASSWORD"])


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh headless Chromium profile; skipped only when Chromium is not installed."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); scripts/test.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = launch_context(pw, tmp_path / "chromium-profile", executable)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()
