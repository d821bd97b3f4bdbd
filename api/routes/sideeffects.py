"""`GET /drugs/{drug}/side-effects`: recorded side effects with their source, then predicted ones flagged
"predicted" with calibrated probability, model run and why (similar drugs that cause it, shared targets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from pydantic import BaseModel, Field

from api.models.common import MAX_OFFSET, DrugName, ErrorWithSuggestions
from api.security import ANY_ROLE
from api.services.memory import keep_long_lived
from api.services.sideeffects import MAX_PAGE, SideEffectService


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the side-effect model once at start-up (inside the app's lifespan, after the driver opens)."""
    app.state.sideeffects = SideEffectService(app.state.settings, app.state.driver, app.state.services.lookup)
    app.state.sideeffects.load()  # never raises: no model → the route answers 503
    keep_long_lived()
    yield


router = APIRouter(tags=["drugs"], lifespan=lifespan, dependencies=[Depends(ANY_ROLE)])


class SimilarDrug(BaseModel):
    drug_id: str
    name: str
    similarity: float = Field(description="similarity to the queried drug (0-1)")
    by: str = Field(description="which similarity: structure, targets, classes, atc, categories, interactions, "
                                "profile (its known side effects) or combined (their mean)")


class Why(BaseModel):
    similar_drugs_causing_it: list[SimilarDrug]
    shared_targets: list[str] = Field(description="genes the queried drug and those drugs both bind")


class SideEffectItem(BaseModel):
    side_effect_id: str = Field(description="UMLS id")
    name: str
    status: Literal["recorded", "predicted"]
    sources: list[str] | None = Field(None, description="recorded: where the fact comes from (Hetionet; SIDER 4.1)")
    licenses: list[str] | None = None
    probability: float | None = Field(None, description="predicted: Platt-calibrated probability")
    model_run: str | None = Field(None, description="predicted: the model run that made it")
    why: Why | None = None


class SideEffectsPage(BaseModel):
    drug: DrugName
    basis: Literal["profile", "inputs", "none"] = Field(
        description="what the predictions rest on: profile (the drug's recorded side effects and its inputs), "
                    "inputs (structure, targets, classes, ATC, categories, interactions), none (no basis to predict)")
    message: str | None = None
    model_run: str
    calibration: dict[str, Any] = Field(description="Brier and ECE of the model's probabilities on validation")
    min_probability: float
    recorded_total: int
    predicted_total: int
    total: int
    limit: int
    offset: int
    items: list[SideEffectItem]


@router.get("/drugs/{drug}/side-effects", response_model=SideEffectsPage,
            responses={404: {"model": ErrorWithSuggestions, "description": "unknown drug, with suggestions"},
                       503: {"description": "no trained side-effect model (message says how to train one)"}},
            summary="A drug's recorded side effects, then predicted ones (flagged, with probability), paged")
def drug_side_effects(
        request: Request,
        drug: Annotated[str, Path(description="DrugBank/DDInter id or a name", examples=["DB00331"])],
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        min_probability: Annotated[float, Query(ge=0, le=1, description="predicted: at least this probability")]
        = 0.05,
        explain: Annotated[bool, Query(description="predicted: similar drugs and shared targets")] = True,
) -> dict[str, Any]:
    """Recorded side effects first (by name, each with its source and license), then the model's predictions
    for side effects not recorded for the drug (by probability), in one paged list. A drug the model has no
    input for gets `basis: none` and the message "no basis to predict"."""
    service: SideEffectService = request.app.state.sideeffects
    return service.of_drug(drug, limit, offset, min_probability, explain)
