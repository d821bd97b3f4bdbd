"""`GET /health`: a real query against Neo4j; 503 with a clear body while it is down."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.services.errors import QueryTimeout
from kg.errors import DatabaseUnavailable

router = APIRouter(tags=["health"])
TIMEOUT = 5.0  # seconds: a database that cannot answer `RETURN 1` in this time is not ready


class StoreInfo(BaseModel):
    build_id: str
    facts: int


class Health(BaseModel):
    status: str
    neo4j: str
    latency_ms: float | None = None
    error: str | None = None
    interaction_store: StoreInfo | None = Field(
        None, description="the in-memory interaction facts serving `/interactions/check`, once loaded for the "
                          "newest complete build (until then checks run as one Cypher query)")


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request) -> Health | JSONResponse:
    """Liveness and readiness: answers `ok` only when Neo4j runs `RETURN 1`. Only an unreachable or timed-out
    database is reported as down; any other failure is a bug and answers 500 (logged with the request id)."""
    t0 = time.perf_counter()
    interactions = request.app.state.services.interactions
    try:
        request.app.state.db.read("RETURN 1 AS ok", timeout=TIMEOUT)
        latency = round((time.perf_counter() - t0) * 1000, 2)
        build = interactions.builds.current()
    except (DatabaseUnavailable, QueryTimeout) as exc:
        body = Health(status="unavailable", neo4j="down", error=str(exc)[:300])
        return JSONResponse(status_code=503, content=body.model_dump())
    store = interactions.loaded_store(build)
    info = StoreInfo(build_id=store.build_id, facts=store.facts) if store else None
    return Health(status="ok", neo4j="up", latency_ms=latency, interaction_store=info)
