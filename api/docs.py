"""`/docs` (Swagger UI) and `/redoc` served from local files: no CDN, so they render on a network without
internet. The assets are the ones the maintained `fastapi-offline` package ships (Swagger UI bundle and CSS,
ReDoc standalone, favicon); FastAPI's own page builders point at them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
STATIC_URL = "/static/docs"
DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL = "/docs", "/redoc", "/docs/oauth2-redirect"
# validatorUrl None: Swagger UI would otherwise send the document to validator.swagger.io for a badge
# ReDoc's sidebar always loads its "API docs by Redocly" logo from its CDN; an empty data URL fails to decode
# locally and ReDoc then hides the image (its onError), so the page asks no other host for anything
REDOC_CDN_LOGO, NO_IMAGE = b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"data:,"
SWAGGER_PARAMETERS = {"deepLinking": True, "showExtensions": True, "showCommonExtensions": True,
                      "validatorUrl": None}


def mount_docs(app: FastAPI) -> None:
    """Add /docs, /docs/oauth2-redirect, /redoc and their assets to an app created with docs_url=redoc_url=None."""
    if not (ASSETS / "swagger-ui-bundle.js").is_file():  # a broken install: fail at start, not with a blank page
        raise RuntimeError(f"Swagger UI assets missing in {ASSETS}: reinstall fastapi-offline")

    @app.get(f"{STATIC_URL}/redoc.standalone.js", include_in_schema=False)  # before the mount: this one wins
    def redoc_js() -> Response:
        return Response(_redoc_bundle(), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})

    app.mount(STATIC_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{openapi_url}", title=f"{app.title} - Swagger UI",
                                   oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
                                   swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
                                   swagger_ui_parameters=SWAGGER_PARAMETERS)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{openapi_url}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png", with_google_fonts=False)


@cache
def _redoc_bundle() -> bytes:
    return (ASSETS / "redoc.standalone.js").read_bytes().replace(REDOC_CDN_LOGO, NO_IMAGE)
