"""The Neo4j Browser's on-connect content: the MedKG guide and the style sheet (public, no API key: the Browser
fetches them itself, cross-origin, as `browser.post_connect_cmd` tells it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from api.services.browser_guide import GRASS_FILE, guide_html
from api.services.db import run_read
from api.services.errors import QueryTimeout
from kg.errors import DatabaseUnavailable

router = APIRouter(tags=["browser"])
CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"}
BUILD_QUERY = """
MATCH (b:Build) WHERE b.status = 'complete'
RETURN b {.id, .status, .finished, .counts} AS build ORDER BY b.id DESC LIMIT 1"""


@router.options("/browser/guide.html", include_in_schema=False)
@router.options("/browser/medkg.grass", include_in_schema=False)
def preflight(request: Request) -> Response:
    """CORS preflight: the Browser's fetch of a guide sends custom headers, so it asks first."""
    asked = request.headers.get("Access-Control-Request-Headers", "")
    return Response(status_code=204, headers={**CORS, "Access-Control-Allow-Methods": "GET, OPTIONS",
                                              "Access-Control-Allow-Headers": asked or "*",
                                              "Access-Control-Max-Age": "600"})


@router.get("/browser/guide.html", response_class=HTMLResponse, summary="MedKG guide for Neo4j Browser (:play)")
async def guide(request: Request) -> HTMLResponse:
    app = request.app

    def build() -> dict | None:
        try:
            rows = run_read(app.state.driver, app.state.settings.neo4j_database, BUILD_QUERY, {})
        except (DatabaseUnavailable, QueryTimeout):  # the guide still opens without Neo4j; it says there is no build
            return None
        return rows[0]["build"] if rows else None

    return HTMLResponse(guide_html(await run_in_threadpool(build)), headers=CORS)


@router.get("/browser/medkg.grass", response_class=PlainTextResponse, summary="MedKG style sheet for Neo4j Browser")
def grass() -> PlainTextResponse:
    return PlainTextResponse(GRASS_FILE.read_text(encoding="utf-8"), headers=CORS)
