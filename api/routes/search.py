"""`GET /drugs/search`: typo-tolerant drug search by name, synonym, brand name or DrugBank id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.models.drugs import SearchResponse
from api.security import ANY_ROLE
from api.services.graph_index import cached_index
from kg.errors import DatabaseUnavailable

router = APIRouter(tags=["drugs"], dependencies=[Depends(ANY_ROLE)])


@router.get("/drugs/search", response_model=SearchResponse, summary="Search drugs by name, synonym, brand or id")
def search_drugs(request: Request,
                 q: Annotated[str, Query(min_length=1, max_length=200, description="name, synonym, brand name or id",
                                         examples=["asprin"])],
                 limit: Annotated[int, Query(ge=1, le=50)] = 10) -> SearchResponse:
    """Ranked candidates: the exact resolution first (id, exact name, alias/brand, normalised, salt-stripped,
    fuzzy), then typo-tolerant suggestions; each with the name that matched, a 0-1 score and the method."""
    services = request.app.state.services
    index = cached_index(services.graph_key, services.database)
    if index is None:
        try:
            index = services.interactions.index()
        except DatabaseUnavailable:
            index = None  # the DrugBank vocabulary alone still answers
    return SearchResponse(query=q, candidates=services.lookup.search(q, limit, index))
