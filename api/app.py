"""`create_app(settings)`: the FastAPI application with one Neo4j driver per process."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from api.routes import cypher, diagnosis, entities, health, interactions, patients, qa, recommend, search, semantic
from api.security import ANY_ROLE, CLINICAL, AuditLog, BodySizeLimit, KeyStore, RateLimiter
from api.services.diagnosis import DiagnosisService
from api.services.errors import QueryFailed, QueryRefused, QueryTimeout
from api.services.patients import PatientService
from api.services.semantic import SemanticService
from api.services.state import build_services, warm
from kg.db import make_driver
from kg.errors import DatabaseUnavailable, InvalidInput, NotFound
from kg.settings import Settings, get_settings

OPENAPI_TAGS = [
    {"name": "health", "description": "Liveness and readiness (a real Neo4j query)."},
    {"name": "drugs", "description": "Typo-tolerant drug search: names, synonyms, brand names, DrugBank ids."},
    {"name": "interactions", "description": "Drug-drug interactions with severity (DDInter), mechanism (DrugBank "
                                            "86 types), provenance and per-source coverage."},
    {"name": "entities", "description": "Any entity by label and id, its neighbours, and paths between entities."},
    {"name": "cypher", "description": "Read-only Cypher (EXPLAIN-checked, READ transaction, timeout, row cap)."},
    {"name": "diagnosis", "description": "Differential diagnosis from DDXPlus findings, symptoms and free text, "
                                         "each candidate with its supporting/absent findings and graph edges."},
    {"name": "ask", "description": "Medical questions in plain words, answered from the graph with evidence "
                                   "(typed catalogue queries), or an abstention with the reason."},
    {"name": "patients", "description": "Pseudonymous patients (age band, sex, findings): create, read, diagnose, "
                                        "export, delete; every call is audited."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    keys = KeyStore.from_settings(settings)
    audit = AuditLog(settings.medkg_audit_log or settings.medkg_home / "audit.log")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.driver = make_driver(settings)
        app.state.services = build_services(settings, app.state.driver)
        app.state.patients = PatientService(app.state.driver, settings.neo4j_database)
        app.state.diagnosis = DiagnosisService(settings, app.state.driver)  # never raises: see its docstring
        app.state.semantic = SemanticService(settings, app.state.driver)  # loads the encoder on first use
        warming = warm(app.state.services, app.state.driver)
        stop = threading.Event()
        app.state.services.interactions.builds.start_refresher(stop)
        try:
            yield
        finally:
            stop.set()
            warming.join(timeout=30)
            app.state.driver.close()

    app = FastAPI(
        title="MedKG",
        version="0.1.0",
        description="Medical knowledge-graph reasoning: graph queries, drug interactions, "
        "recommendations and diagnosis, each answer with its evidence and sources.",
        lifespan=lifespan,
        openapi_tags=OPENAPI_TAGS,
        contact={"name": "MedKG"},
        license_info={"name": "Apache-2.0 (code); data under each source's license, reported per fact"},
    )
    app.state.keys = keys
    app.state.audit = audit
    app.state.rate_limiter = RateLimiter(settings.medkg_rate_limit, settings.medkg_rate_burst)
    app.add_middleware(BodySizeLimit, max_bytes=settings.medkg_max_body_bytes)

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

    @app.exception_handler(QueryRefused)
    async def _refused(_: Request, exc: QueryRefused) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": str(exc), "reason": exc.reason})

    @app.exception_handler(QueryTimeout)
    async def _timeout(_: Request, exc: QueryTimeout) -> JSONResponse:
        return JSONResponse(status_code=504, content={"detail": str(exc)})

    @app.exception_handler(QueryFailed)
    async def _failed(_: Request, exc: QueryFailed) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": [{"loc": ["body", "query"], "msg": str(exc),
                                                                  "code": exc.code}]})

    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(interactions.router)
    app.include_router(entities.router)
    app.include_router(cypher.router)
    app.include_router(diagnosis.router, dependencies=[Depends(CLINICAL)])
    app.include_router(patients.router, dependencies=[Depends(CLINICAL)])
    app.include_router(semantic.router, dependencies=[Depends(ANY_ROLE)])
    app.include_router(recommend.router)  # lifespan loads the treats model; 503 without one
    app.include_router(qa.router)  # POST /ask; lifespan warms the qa engine in the background
    return app
