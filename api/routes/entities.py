"""Entities, their neighbours, and paths between them (shortest, or along a metapath)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from api.models.common import MAX_OFFSET, ErrorWithSuggestions
from api.models.entities import (
    EntityOut,
    MetapathRequest,
    MetapathResponse,
    NeighboursPage,
    ShortestPathRequest,
    ShortestPathResponse,
)
from api.security import ANY_ROLE
from api.services.entities import MAX_PAGE, Step, parse_metapath
from kg.errors import InvalidInput
from kg.schema import get_schema

router = APIRouter(tags=["entities"], dependencies=[Depends(ANY_ROLE)])
_schema = get_schema()
Label = Enum("Label", {n: n for n in sorted(_schema.labels) if not _schema.labels[n].patient_data}, type=str)
RelType = Enum("RelType", {n: n for n in sorted(_schema.relationships) if not _schema.relationships[n].patient_data},
               type=str)
NOT_FOUND = {404: {"model": ErrorWithSuggestions, "description": "unknown entity, with suggestions"}}


def _entities(request: Request):
    return request.app.state.services.entities


@router.get("/entities/{label}/{entity_id:path}/neighbours", response_model=NeighboursPage, responses=NOT_FOUND,
            summary="Neighbours of an entity by relationship type and direction, paged")
def neighbours(request: Request, label: Label,
               entity_id: Annotated[str, Path(description="the entity's id", examples=["DB00331"])],
               type: Annotated[list[RelType] | None, Query(description="relationship types (repeatable)")] = None,
               direction: Annotated[str, Query(pattern="^(out|in|both)$")] = "both",
               neighbour_label: Label | None = None,
               limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
               offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> dict[str, Any]:
    """Each neighbour with the connecting relationship and its provenance (sources, licenses, versions)."""
    return _entities(request).neighbours(label.value, entity_id, [t.value for t in type or []], direction,
                                         neighbour_label.value if neighbour_label else None, limit, offset)


@router.get("/entities/{label}/{entity_id:path}", response_model=EntityOut, responses=NOT_FOUND,
            summary="One entity by label and id")
def entity(request: Request, label: Label,
           entity_id: Annotated[str, Path(description="the entity's id", examples=["DB00945"])]) -> dict[str, Any]:
    """Properties (no embedding vectors) and relationship counts per type and direction; 404 with suggestions."""
    return _entities(request).get(label.value, entity_id)


@router.post("/paths/shortest", response_model=ShortestPathResponse, responses=NOT_FOUND,
             summary="Shortest paths between two entities (length <= 4)")
def shortest_paths(request: Request, body: ShortestPathRequest) -> dict[str, Any]:
    """All shortest paths (undirected, at most `max_length` hops, at most `limit` paths); every edge with
    its provenance. Patient data is never walked."""
    return _entities(request).shortest_paths((body.source.label, body.source.id), (body.target.label, body.target.id),
                                             body.max_length, body.limit, body.types)


@router.post("/paths/metapath", response_model=MetapathResponse, responses=NOT_FOUND,
             summary="Paths along a metapath, e.g. Drug-BINDS->Gene<-ASSOCIATES-Disease")
def metapath(request: Request, body: MetapathRequest) -> dict[str, Any]:
    """Every label and relationship type (and the direction of each step) is checked against the schema."""
    if body.metapath and body.steps:
        raise InvalidInput("give either `metapath` or `steps`, not both", "metapath")
    if body.metapath:
        first, steps = parse_metapath(body.metapath)
        if first != body.start.label:
            raise InvalidInput(f"metapath starts with {first!r} but start.label is {body.start.label!r}", "metapath")
    else:
        steps = [Step(s.type, s.direction, s.label) for s in body.steps]
    return _entities(request).metapath((body.start.label, body.start.id), steps, body.end_id, body.limit)
