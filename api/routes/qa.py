"""`POST /ask`: a medical question in plain words, answered from the graph with its evidence and the Cypher
that produced it, or an abstention with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from api.security import ANY_ROLE
from api.services.qa import MAX_QUESTION, QAService


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.qa = QAService(app.state.settings, app.state.driver, app.state.services)
    warming = app.state.qa.warm()  # gazetteer and model in the background; never fails start-up
    try:
        yield
    finally:
        # the app closes the driver after this: a warm-up query still running on it would race the close
        warming.join(timeout=120)


router = APIRouter(tags=["ask"], lifespan=lifespan, dependencies=[Depends(ANY_ROLE)])


class AskRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"question": "What are the side effects of Coumadin?"},
                                                              {"question": "Do warfarin and aspirin interact?"}]})
    question: str = Field(min_length=1, max_length=MAX_QUESTION, description="a question in plain words")


class Fact(BaseModel):
    model_config = ConfigDict(extra="allow")
    relationship: str | None = Field(description="relationship type behind the answer (PREDICTED_* = prediction)")
    sources: list[str]
    licenses: list[str]


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str | None
    label: str
    facts: list[Fact] = Field(description="the relationships behind this answer, with source and license")


class CypherText(BaseModel):
    query: str
    params: dict[str, Any]
    browser: str = Field(description="`:param` lines + the query: runs unchanged in Neo4j Browser")


class AskResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    question: str
    abstained: bool
    reason: str | None = Field(description="out_of_scope | unknown_entity | ambiguous | not_available | empty")
    message: str | None = None
    interpretation: dict[str, Any] | None = Field(
        description="intent (with probability and the next intents), linked entities (id, label, confidence, "
                    "method, alternatives), flags")
    candidates: list[dict[str, Any]] = Field(default_factory=list, description="what an unknown/ambiguous name "
                                                                               "might mean")
    answers: list[Answer]
    count: int
    truncated: bool
    summary: str
    cypher: CypherText | None
    model_run: str | None
    ms: float


@router.post("/ask", response_model=AskResponse, response_model_exclude_none=False,
             responses={503: {"description": "no trained qa model (message says how to train one)"}},
             summary="Answer a medical question from the graph, with evidence, or abstain")
async def ask(request: Request, body: AskRequest) -> dict[str, Any]:
    """Intent (trained classifier) and entities (names, synonyms, brand names, typos, plurals, lay terms) are
    read from the question; one typed, read-only catalogue query answers it; every answer carries the facts
    behind it with source and license. Out of scope, unknown or ambiguous entities: `abstained: true`."""
    svc: QAService = request.app.state.qa
    return await run_in_threadpool(svc.ask, body.question)
