"""Entity, neighbour and path models: nodes and relationships as plain dicts with provenance."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Direction = Literal["out", "in", "both"]


class NodeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "kind": "node", "label": "Drug", "labels": ["Drug"], "id": "DB00945", "name": "Acetylsalicylic acid",
        "element_id": "4:…:123", "properties": {"id": "DB00945", "name": "Acetylsalicylic acid",
                                               "sources": ["drugbank", "hetionet"]}}})
    kind: Literal["node"] = "node"
    label: str | None
    labels: list[str]
    id: str | None
    name: str | None = None
    element_id: str
    properties: dict[str, Any] = Field(description="all properties except embedding vectors")


class RelationshipOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "kind": "relationship", "type": "BINDS", "start": "DB00331", "end": "5468", "start_label": "Drug",
        "end_label": "Gene", "sources": ["hetionet"], "licenses": ["CC0 1.0"], "source_versions": ["hetionet:v1.0"],
        "element_id": "5:…:42", "properties": {}}})
    kind: Literal["relationship"] = "relationship"
    type: str
    element_id: str
    start: str | None
    end: str | None
    start_label: str | None = None
    end_label: str | None = None
    sources: list[str] = Field(description="provenance: the sources stating this fact")
    licenses: list[str]
    source_versions: list[str]
    properties: dict[str, Any]
    direction: Literal["out", "in"] | None = Field(None, description="seen from the entity (neighbours only)")


class PathOut(BaseModel):
    kind: Literal["path"] = "path"
    length: int
    nodes: list[NodeOut]
    relationships: list[RelationshipOut]


class DegreeEntry(BaseModel):
    type: str
    direction: Literal["out", "in"]
    count: int


class EntityOut(NodeOut):
    degree: list[DegreeEntry] = Field(description="relationship counts per type and direction")


class Neighbour(BaseModel):
    relationship: RelationshipOut
    node: NodeOut


class NeighboursPage(BaseModel):
    entity: NodeOut
    types: list[str]
    direction: Direction
    neighbour_label: str | None
    total: int
    limit: int
    offset: int
    items: list[Neighbour]


class EntityRef(BaseModel):
    label: str = Field(examples=["Drug"])
    id: str = Field(examples=["DB00331"])


class ShortestPathRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "source": {"label": "Drug", "id": "DB00331"}, "target": {"label": "Disease", "id": "DOID:9352"},
        "max_length": 2, "limit": 5, "types": []}})
    source: EntityRef
    target: EntityRef
    max_length: int = Field(3, ge=1, le=4, description="longest path considered (hops, at most 4)")
    limit: int = Field(10, ge=1, le=100)
    types: list[str] = Field([], description="relationship types to walk (default: all but patient data)")


class ShortestPathResponse(BaseModel):
    source: EntityRef
    target: EntityRef
    max_length: int
    length: int | None = Field(description="length of the shortest paths; null when none within max_length")
    count: int
    paths: list[PathOut]


class Step(BaseModel):
    type: str = Field(examples=["BINDS"])
    direction: Direction = Field("out", description="out: (previous)-[type]->(label); in: (previous)<-[type]-(label)")
    label: str = Field(examples=["Gene"])


class MetapathRequest(BaseModel):
    """A metapath as steps, or as text such as `Drug-BINDS->Gene<-ASSOCIATES-Disease` (then `steps` is empty
    and `start.label` must be the text's first label)."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "start": {"label": "Drug", "id": "DB00331"}, "end_id": "DOID:9352",
        "steps": [{"type": "BINDS", "direction": "out", "label": "Gene"},
                  {"type": "ASSOCIATES", "direction": "in", "label": "Disease"}], "limit": 10}})
    start: EntityRef
    steps: list[Step] = Field([], max_length=4)
    metapath: str | None = Field(None, examples=["Drug-BINDS->Gene<-ASSOCIATES-Disease"])
    end_id: str | None = Field(None, description="optional id of the last node")
    limit: int = Field(25, ge=1, le=100)


class MetapathResponse(BaseModel):
    start: EntityRef
    end: dict[str, str | None]
    metapath: str
    steps: list[Step]
    count: int
    truncated: bool
    paths: list[PathOut]
