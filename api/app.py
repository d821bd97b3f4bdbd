"""`create_app(settings)`: the FastAPI application with one Neo4j driver per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.routes import health
from kg.db import make_driver
from kg.errors import DatabaseUnavailable, InvalidInput, NotFound
from kg.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.driver = make_driver(settings)
        try:
            yield
        finally:
            app.state.driver.close()

    app = FastAPI(
        title="MedKG",
        version="0.1.0",
        description="Medical knowledge-graph reasoning: graph queries, drug interactions, "
        "recommendations and diagnosis, each answer with its evidence and sources.",
        lifespan=lifespan,
    )

    @app.exception_handler(DatabaseUnavailable)
    async def _db_down(_: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": "graph database unavailable", "error": str(exc)})

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc), "suggestions": exc.suggestions})

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        loc = ["body", exc.field] if exc.field else ["body"]
        return JSONResponse(status_code=422, content={"detail": [{"loc": loc, "msg": str(exc)}]})

    app.include_router(health.router)
    return app
