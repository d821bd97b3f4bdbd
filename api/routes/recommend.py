"""`GET /recommendations`: ranked drugs for a disease with calibrated probability, known/predicted status,
supporting graph paths with sources and, for a patient, safety exclusions or flags."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, Field

from api.security import ANY_ROLE, Role
from api.services.memory import keep_long_lived
from api.services.recommend import RecommendService


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the treats model once at start-up (runs inside the app's lifespan, after the gateway opens)."""
    app.state.recommend = RecommendService(app.state.settings, app.state.db)
    app.state.recommend.load()  # never raises: no model → the route answers 503
    keep_long_lived()
    yield


router = APIRouter(tags=["recommendations"], lifespan=lifespan, dependencies=[Depends(ANY_ROLE)])


class Recommendation(BaseModel):
    rank: int
    drug_id: str
    name: str | None = None
    probability: float = Field(description="Platt-calibrated by cross-fitting on the training edges: "
                                           "P(unknown pair is an indication)")
    score: float = Field(description="model logit")
    status: Literal["known", "predicted"]
    safety: list[dict[str, Any]] = Field(description="reasons the drug is unsafe for the patient (flag mode)")
    explanation: list[dict[str, Any]] = Field(description="strongest supporting paths, each edge with sources")
    side_effects: dict[str, Any] | None = Field(
        None, description="with `explain`: `recorded` = how many side effects a source records for the drug (count, "
                          "sources); `predicted` = the side-effect model's top predictions of side effects NOT "
                          "recorded, each `status: predicted`, `label: predicted, not from a source`, with "
                          "probability, model run and why (similar drugs causing it, shared targets); never mixed "
                          "with the recorded ones")
    score_drivers: dict[str, Any] | None = Field(
        None, description="what drove the score (ensemble models, with `explain`): `components` = each weighted "
                          "component's share w·z (z over the candidate drugs for this disease; they sum to the score "
                          "minus the disease-level term), `metapaths` = the path regression's largest positive "
                          "terms (feature, metapath, logit term)")


class Recommendations(BaseModel):
    disease: str
    patient: str | None
    safety: str
    model_run: str
    recommendations: list[Recommendation]
    unsafe_drugs_for_patient: int
    excluded: list[dict[str, Any]] = Field(description="unsafe drugs left out of the top (exclude mode), reasons")
    contraindicated: list[dict[str, Any]] = Field(
        default_factory=list, description="drugs NOT_INDICATED_FOR this disease: never recommended, only listed "
                                          "here flagged, with the edge's sources and the model's probability")


@router.get("/recommendations", response_model=Recommendations,
            responses={503: {"description": "no trained treats model (message says how to train one)"},
                       404: {"description": "unknown disease or patient"}})
def recommendations(
    request: Request,
    disease: str = Query(description="Disease id, e.g. DOID:9352", max_length=64),
    patient: str | None = Query(default=None, description="Patient id (P-...) for safety checks", max_length=64),
    top: int = Query(default=10, ge=1, le=100),
    safety: Literal["exclude", "flag"] = Query(default="exclude"),
    explain: bool = Query(default=True, description="include supporting paths (Cypher, adds latency)"),
    side_effects: int = Query(default=5, ge=0, le=50,
                              description="with `explain`: predicted side effects per drug (0: none)"),
) -> dict:
    """Ranked drugs for a disease; with `patient`, drugs with a Major interaction with a current medication,
    a contraindication for a mapped condition, or an allergy are excluded (or flagged) with the reason."""
    service: RecommendService = request.app.state.recommend
    if patient is not None:  # patient data: clinicians (and admins) only, and audited
        key = request.state.api_key
        if key.role not in (Role.clinician, Role.admin):
            raise HTTPException(status_code=403, detail=f"role {key.role!r} may not read patient data; "
                                "recommendations for a patient need a clinician key")
        request.app.state.audit.record(key, "recommend", patient, disease=disease)
    slot = getattr(getattr(request.app.state, "sideeffects", None), "slot", None)
    # no treats model: 503 (api/app.py); no side-effect model: recommendations without predicted side effects
    return service.recommend(disease, patient, top, safety, explain, side_effects=slot, per_drug=side_effects)
