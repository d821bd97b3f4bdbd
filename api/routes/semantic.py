"""Semantic search across labels, nearest nodes by text embedding, free text → findings / complaint label."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.services.semantic import SemanticService, SemanticUnavailable

router = APIRouter(tags=["search"])
UNAVAILABLE = {503: {"description": "the text encoder, classifier or vector index is not there (message says why)"}}


class SearchHit(BaseModel):
    label: str
    id: str
    name: str | None
    score: float = Field(description="0.6·cosine + 0.4·fulltext/best + 1 if the query is the name or a synonym")
    why: list[str] = Field(description="signals behind the hit: exact name/synonym, fulltext, vector similarity")
    exact: str | None = Field(description="'name' or 'synonym' when the query equals it (case-insensitive)")
    fulltext: float = Field(description="fulltext score relative to the best fulltext hit (0-1)")
    vector: float = Field(description="cosine of the query and node text embeddings (0 if not searched)")


class SearchResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "query": "heart attack", "labels": ["Disease", "Symptom"], "vector_labels": ["Disease", "Symptom"],
        "note": None, "hits": [{"label": "Disease", "id": "DOID:5844", "name": "myocardial infarction",
                                "score": 1.7, "why": ["exact synonym", "fulltext 1.00", "vector similarity 0.50"],
                                "exact": "synonym", "fulltext": 1.0, "vector": 0.5}]}})
    query: str
    labels: list[str]
    vector_labels: list[str] = Field(description="labels searched by embedding (the others: fulltext/exact only)")
    note: str | None = Field(description="why some signal was not used, if any")
    hits: list[SearchHit]


class Neighbour(BaseModel):
    label: str
    id: str
    name: str | None
    score: float = Field(description="Neo4j's vector score (1 + cosine) / 2")
    cosine: float


class SimilarResponse(BaseModel):
    label: str
    id: str
    neighbours: list[Neighbour]


class TextRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "text": "I've had a high fever for three days and a dry cough. It hurts in my chest when I breathe."}})
    text: str = Field(min_length=1, max_length=5000, description="free-text complaint")


class FindingsRequest(TextRequest):
    threshold: float = Field(default=0.6, ge=0.0, le=1.0, description="minimum cosine of a finding")
    limit: int = Field(default=20, ge=1, le=100, description="at most this many findings per source")


class Finding(BaseModel):
    id: str = Field(description="DDXPlus evidence code (E_91) or MeSH descriptor id (D005334)")
    text: str
    score: float
    matched: str = Field(description="the sentence or clause of the text that matched")


class FindingsResponse(BaseModel):
    text: str
    threshold: float
    ddxplus: list[Finding]
    mesh: list[Finding]


class ClassifyRequest(TextRequest):
    top: int = Field(default=3, ge=1, le=24, description="how many labels to list")


class LabelProbability(BaseModel):
    label: str
    probability: float


class ClassifyResponse(BaseModel):
    label: str
    probability: float
    top: list[LabelProbability]
    model: str
    model_run: str | None = Field(default=None, description="the text family's run that answered (artifacts/text)")


def _service(request: Request) -> SemanticService:
    """The app's semantic service; a missing encoder/classifier raises SemanticUnavailable (503, api/app.py)."""
    svc = getattr(request.app.state, "semantic", None)
    if svc is None:
        raise SemanticUnavailable("semantic search service not started")
    return svc


@router.get("/search", response_model=SearchResponse, summary="Hybrid semantic + fulltext + exact search")
def search(request: Request,
           q: Annotated[str, Query(min_length=1, max_length=300, description="free text", examples=["heart attack"])],
           labels: Annotated[str | None, Query(description="comma-separated labels (default: all embedded labels)",
                                               examples=["Disease,Symptom"])] = None,
           k: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """Nodes across labels for a free-text query, each with label, id, name, score and why it was found:
    the query equals its name or a synonym, fulltext (typo-tolerant) and cosine of the text embeddings.
    Labels without a vector index yet are searched by fulltext and exact match only (`note` says so)."""
    wanted = [x.strip() for x in labels.split(",") if x.strip()] if labels else None
    if not q.strip():
        raise HTTPException(status_code=422, detail=[{"loc": ["query", "q"], "msg": "q is blank"}])
    return _service(request).search(q, wanted, k)


@router.get("/search/similar/{label}/{node_id:path}", response_model=SimilarResponse, responses=UNAVAILABLE,
            summary="Nearest nodes of the same label by text embedding (vector index)")
def similar(request: Request, label: Annotated[str, Path(examples=["Disease"])],
            node_id: Annotated[str, Path(description="the node's id", examples=["DOID:5844"])],
            k: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """The k nodes whose stored text embeddings are nearest to this node's (itself left out)."""
    return _service(request).similar(label, node_id, k)


@router.post("/text/findings", response_model=FindingsResponse, responses=UNAVAILABLE,
             summary="Free text → DDXPlus evidences and MeSH symptoms it mentions")
def findings(request: Request, body: FindingsRequest) -> dict[str, Any]:
    """Each finding with its best cosine over the text's sentences and clauses (no negation handling)."""
    return _service(request).findings(body.text, body.threshold, body.limit)


@router.post("/text/classify", response_model=ClassifyResponse, responses=UNAVAILABLE,
             summary="Free-text complaint → Symptom2Disease label and probability")
def classify(request: Request, body: ClassifyRequest) -> dict[str, Any]:
    """The trained complaint classifier (artifacts/text/symptom2disease); 503 if it has not been trained."""
    return _service(request).classify(body.text, body.top)
