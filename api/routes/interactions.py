"""Drug-drug interactions: check a medication list, or page through one drug's interactions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from api.models.common import MAX_OFFSET, ErrorWithSuggestions, Severity
from api.models.drugs import CheckRequest, CheckResponse, DrugInteractionsPage
from api.security import ANY_ROLE
from api.services.interactions import MAX_PAGE

router = APIRouter(tags=["interactions"], dependencies=[Depends(ANY_ROLE)])

def _json(model: BaseModel) -> Response:
    """Validated against the response model, serialised by pydantic in one pass (the large answers)."""
    return Response(model.model_dump_json(), media_type="application/json")


EXAMPLES = {
    "pharmacist": {"summary": "The pharmacist's example",
                   "value": {"drugs": ["warfarin", "aspirin", "simvastatin", "clarithromycin", "digoxin",
                                       "amiodarone"]}},
    "duplicates and typos": {"summary": "Duplicate ingredient, a typo, an unknown name",
                             "value": {"drugs": ["aspirin", "Acetylsalicylic acid", "warfrin", "xyzzy"]}},
}


@router.post("/interactions/check", response_model=CheckResponse,
             summary="Check a medication list for drug-drug interactions")
async def check_interactions(request: Request,
                             body: Annotated[CheckRequest, Body(openapi_examples=EXAMPLES)]) -> Response:
    """Resolves every entry (unresolved ones are listed with suggestions, never dropped), then returns every
    interacting pair, Major first, with the severity on the scale Major / Moderate / Minor / not graded
    (DDInter's grade; `not graded` for mechanism-only facts and for DDInter's own level `Unknown`), the
    DrugBank mechanism sentence, and each fact's source and license. Every other pair is reported as
    `no known interaction` (a source covers it and lists none) or `not covered` (no source covers it).
    Coverage is given per drug and per source: DDInter's files lack ATC groups C, G, J, M, N and S.
    Pairs without a curated grade carry a `predicted` part (estimated severity; for `not covered` pairs also the
    probability that they interact and the likely type), labelled "predicted, not from a source" with the model
    run; `"predictions": false` leaves it out. Curated facts are never replaced."""
    service = request.app.state.services.interactions
    body_json = service.check_in_memory_json(body.drugs, body.predictions)  # ~0.2 ms of CPU, on the event loop
    if body_json is None:  # needs Neo4j or a warm-up: off the event loop
        body_json = await run_in_threadpool(service.check_json, body.drugs, body.predictions)
    # sent as built from cached serialised pair answers, without a validation pass; its equality with the
    # CheckResponse-validated form is pinned by tests/api/test_interaction_store.py
    return Response(body_json, media_type="application/json")


@router.get("/drugs/{drug}/interactions", response_model=DrugInteractionsPage,
            responses={404: {"model": ErrorWithSuggestions}}, summary="The interactions of one drug, paged")
def drug_interactions(request: Request,
                      drug: Annotated[str, Path(description="DrugBank/DDInter id or a name", examples=["DB00682"])],
                      severity: Annotated[list[Severity] | None, Query(description="keep these (repeatable)")] = None,
                      limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                      offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Response:
    """`drug` is a DrugBank/DDInter id or a name. Partners sorted Major first, then by name."""
    page = request.app.state.services.interactions.of_drug(drug, [s.value for s in severity or []], limit, offset)
    return _json(DrugInteractionsPage.model_validate(page))
