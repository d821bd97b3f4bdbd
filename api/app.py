"""`create_app(settings)`: the FastAPI application with one Neo4j driver per process."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from api.docs import mount_docs
from api.request_id import RequestId, request_id
from api.routes import (
    browser,
    cds,
    cypher,
    diagnosis,
    entities,
    fhir,
    health,
    images,
    interactions,
    patients,
    qa,
    recommend,
    schema,
    search,
    semantic,
    sideeffects,
)
from api.security import ANY_ROLE, CLINICAL, IMAGE_UPLOAD, AuditLog, BodySizeLimit, KeyStore, RateLimiter
from api.services.db import Gateway
from api.services.diagnosis import DiagnosisService
from api.services.errors import QueryFailed, QueryRefused, QueryTimeout
from api.services.images import ImageService
from api.services.patients import PatientService
from api.services.semantic import SemanticService
from api.services.state import build_services, warm
from kg.db import make_driver
from kg.errors import DatabaseUnavailable, InvalidInput, ModelUnavailable, NotFound
from kg.settings import Settings, get_settings

log = logging.getLogger("api")
OPENAPI_TAGS = [
    {"name": "health", "description": "Liveness and readiness (a real Neo4j query)."},
    {"name": "drugs", "description": "Typo-tolerant drug search: names, synonyms, brand names, DrugBank ids."},
    {"name": "interactions", "description": "Drug-drug interactions with severity (DDInter), mechanism (DrugBank "
                                            "86 types), provenance and per-source coverage."},
    {"name": "entities", "description": "Any entity by label and id, its neighbours, and paths between entities."},
    {"name": "cypher", "description": "Read-only Cypher (EXPLAIN-checked, READ transaction, timeout, row cap)."},
    {"name": "diagnosis", "description": "Differential diagnosis from DDXPlus findings, symptoms and free text, "
                                         "each candidate with its supporting/absent findings and graph edges."},
    {"name": "schema", "description": "The graph schema: labels with Biolink class and id namespace, relationship "
                                      "types with their ends and Biolink predicate."},
    {"name": "ask", "description": "Medical questions in plain words, answered from the graph with evidence "
                                   "(typed catalogue queries), or an abstention with the reason."},
    {"name": "patients", "description": "Pseudonymous patients (age band, sex, findings): create, read, diagnose, "
                                        "export, delete; every call is audited."},
    {"name": "fhir", "description": "FHIR R4 in: import Bundles of patients, de-identified as Synthea's are."},
    {"name": "cds-hooks", "description": "CDS Hooks 2.0 services (order-select, order-sign): cards for drafted "
                                         "medication orders (interactions, allergies, non-indications)."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    keys = KeyStore.from_settings(settings)
    audit = AuditLog(settings.medkg_audit_log or settings.medkg_home / "audit.log")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.driver = make_driver(settings)
        app.state.db = Gateway(app.state.driver, settings.neo4j_database)  # every query goes through it
        app.state.services = build_services(settings, app.state.driver)
        app.state.patients = PatientService(app.state.driver, settings.neo4j_database)
        app.state.diagnosis = DiagnosisService(settings, app.state.driver)  # a missing/bad model: `error`, 503
        app.state.semantic = SemanticService(settings, app.state.db)  # loads the encoder on first use
        app.state.images = ImageService(settings, app.state.driver)  # loads the image model on first use
        warming = warm(app.state.services, app.state.driver)
        stop = threading.Event()
        refresher = app.state.services.interactions.builds.start_refresher(stop)
        try:
            yield
        finally:
            stop.set()
            # the driver closes last: a query still running on one of its connections in a background thread
            # would race the close (seen: BufferError in the driver's outbox at a test app's shutdown)
            warming.join(timeout=30)
            if refresher is not None:
                refresher.join(timeout=30)
            app.state.driver.close()

    app = FastAPI(
        title="MedKG",
        version="0.1.0",
        description="Medical knowledge-graph reasoning: graph queries, drug interactions, "
        "recommendations and diagnosis, each answer with its evidence and sources.",
        lifespan=lifespan,
        docs_url=None,  # served from local assets by mount_docs (no CDN)
        redoc_url=None,
        openapi_tags=OPENAPI_TAGS,
        contact={"name": "MedKG"},
        license_info={"name": "Apache-2.0 (code); data under each source's license, reported per fact"},
    )
    app.state.keys = keys
    app.state.audit = audit
    app.state.rate_limiter = RateLimiter(settings.medkg_rate_limit, settings.medkg_rate_burst)
    # image uploads may be larger; above MEDKG_IMAGE_MAX_BYTES the route answers 422, far above it this 413
    app.add_middleware(BodySizeLimit, max_bytes=settings.medkg_max_body_bytes,
                       larger={IMAGE_UPLOAD: 2 * settings.medkg_image_max_bytes})
    app.add_middleware(RequestId)  # added last: outermost, so even a refused body has a request id

    # Domain errors -> HTTP status, here and nowhere else. Routes raise; they never build a 503 by hand.
    @app.exception_handler(ModelUnavailable)
    async def _model_unavailable(_: Request, exc: ModelUnavailable) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

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

    mount_docs(app)
    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        """The outermost boundary: an error nobody expected is a bug; logged with its request id, 500."""
        rid = request_id(request.scope)
        log.error("unhandled %s in %s %s [request %s]", type(exc).__name__, request.method, request.url.path, rid,
                  exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error", "request_id": rid},
                            headers={"X-Request-ID": rid})

    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(interactions.router)
    app.include_router(entities.router)
    app.include_router(cypher.router)
    app.include_router(schema.router)
    app.include_router(diagnosis.router, dependencies=[Depends(CLINICAL)])
    app.include_router(patients.router, dependencies=[Depends(CLINICAL)])
    app.include_router(images.router, dependencies=[Depends(CLINICAL)])
    app.include_router(semantic.router, dependencies=[Depends(ANY_ROLE)])
    app.include_router(cds.router)
    app.include_router(browser.router)  # open: Neo4j Browser fetches the guide and style itself
    app.include_router(fhir.router, dependencies=[Depends(CLINICAL)])
    app.include_router(recommend.router)  # lifespan loads the treats model; 503 without one
    app.include_router(sideeffects.router)  # lifespan loads the side-effect model; 503 without one
    app.include_router(qa.router)  # POST /ask; lifespan warms the qa engine in the background
    return app
