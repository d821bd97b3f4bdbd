"""`GET /health`: a real query against Neo4j; 503 with a clear body while it is down."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from kg.db import read
from kg.errors import DatabaseUnavailable

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    neo4j: str
    latency_ms: float | None = None
    error: str | None = None


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request) -> Health | JSONResponse:
    """Liveness and readiness: answers `ok` only when Neo4j runs `RETURN 1`."""
    t0 = time.perf_counter()
    try:
        read(request.app.state.driver, "RETURN 1 AS ok")
    except (DatabaseUnavailable, Exception) as exc:
        body = Health(status="unavailable", neo4j="down", error=str(exc)[:300])
        return JSONResponse(status_code=503, content=body.model_dump())
    return Health(status="ok", neo4j="up", latency_ms=round((time.perf_counter() - t0) * 1000, 2))
