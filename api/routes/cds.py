"""CDS Hooks 2.0: discovery and the order-select / order-sign medication-check services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.security import CDS_ANY_ROLE, CDS_CLINICAL
from api.services.cds import SERVICES, CdsRequestError, CdsService, parse_json
from kg.adapters.synthea import pseudonym_key, pseudonymise

router = APIRouter(tags=["cds-hooks"])


class CardSource(BaseModel):
    label: str
    topic: dict[str, str] | None = None


class Card(BaseModel):
    uuid: str
    summary: str = Field(max_length=139, description="under 140 characters")
    detail: str = Field(description="markdown: mechanism, source and license, coverage")
    indicator: str = Field(description="critical (Major), warning (Moderate, allergy class, non-indication), info")
    source: CardSource


class CdsResponse(BaseModel):
    cards: list[Card] = Field(description="empty when there is nothing to say")


class ServiceOut(BaseModel):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str


class Discovery(BaseModel):
    services: list[ServiceOut]


def cds(request: Request) -> CdsService:
    app = request.app
    service = getattr(app.state, "cds", None)
    if service is None:
        service = app.state.cds = CdsService(app.state.services.interactions)
    return service


@router.get("/cds-services", response_model=Discovery, dependencies=[Depends(CDS_ANY_ROLE)],
            summary="CDS Hooks discovery: the order-select and order-sign services with their prefetch")
def discovery() -> dict[str, Any]:
    return CdsService.discovery()


@router.post("/cds-services/{service_id}", response_model=CdsResponse, dependencies=[Depends(CDS_CLINICAL)],
             responses={400: {"description": "malformed JSON, a wrong hook, a Bundle without MedicationRequests"},
                        404: {"description": "no such service"}},
             summary="CDS Hooks call: cards for the drafted medication orders")
async def call_service(request: Request,
                       service_id: Annotated[str, Path(examples=sorted(SERVICES))]) -> JSONResponse:
    """Reads `context.draftOrders` (a Bundle of MedicationRequest; for order-select the `selections` are the
    orders checked) and the prefetch (`medications`, `allergies`, `conditions`). One card per interacting pair
    involving a drafted drug (critical = Major, warning = Moderate, info = Minor, not graded, model predictions),
    allergy and non-indication conflicts, and one `info` card naming what could not be resolved; no card when
    there is nothing to say. Nothing is stored; the call is audited under the patient's pseudonym."""
    raw = await request.body()
    service = cds(request)
    key = getattr(request.state, "api_key", None)
    audit = request.app.state.audit
    try:
        body = parse_json(raw)
        call = service.parse(service_id, body)
    except CdsRequestError as exc:
        audit.record(key, f"cds.{service_id}", None, outcome="invalid", reason=str(exc)[:200])
        return JSONResponse(status_code=400, content={"detail": str(exc)})
    cards = service.cards_in_memory(call)  # ~3 ms of CPU on the event loop when everything is in memory
    if cards is None:  # a new build's facts or the check need Neo4j: off the event loop
        cards = await run_in_threadpool(service.cards, call)
    patient = pseudonymise(call.patient, _key(request)) if call.patient else None
    audit.record(key, f"cds.{call.hook}", patient, outcome="ok", cards=len(cards))
    return JSONResponse({"cards": cards})


def _key(request: Request) -> bytes:
    key = getattr(request.app.state, "pseudonym_key", None)
    if key is None:
        key = request.app.state.pseudonym_key = pseudonym_key()
    return key
