"""`GET /schema`: the graph's labels (Biolink class, id namespace, CURIE prefix) and relationship types, read from
ontologies/schema.yaml, the one source the build, validation, the routes' enums and the privacy guard use."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.security import ANY_ROLE
from kg.schema import get_schema

router = APIRouter(tags=["schema"], dependencies=[Depends(ANY_ROLE)])


class LabelOut(BaseModel):
    label: str
    biolink: str = Field(description="Biolink category, e.g. biolink:Drug")
    id_namespace: str = Field(description="where the ids come from, e.g. DrugBank")
    id_pattern: str
    curie_prefix: str = Field(description="node.curie = prefix + id ('' when the id is a CURIE already)")
    curie_prefix_by_id: dict[str, str] = Field(description="other prefixes for ids matching a pattern")
    properties: list[str]
    patient_data: bool


class RelationshipOut(BaseModel):
    type: str
    from_: list[str] = Field(alias="from")
    to: list[str]
    biolink: str = Field(description="Biolink predicate, e.g. biolink:treats")
    meaning: str
    patient_data: bool


class SchemaOut(BaseModel):
    biolink_version: str
    labels: list[LabelOut]
    relationships: list[RelationshipOut]


@router.get("/schema", response_model=SchemaOut, response_model_by_alias=True,
            summary="Labels with their Biolink class and id namespace; relationship types with their ends")
def schema() -> dict:
    """The same listing as `medkg kg schema --json`."""
    return get_schema().describe()
