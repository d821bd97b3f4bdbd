"""Models shared by several endpoints: drug references, suggestions, provenance."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

MAX_OFFSET = 10_000_000  # paging offsets; Neo4j list slices take 32-bit indexes (a larger one was a 500)


class Severity(StrEnum):
    """The named severity scale: DDInter's grades; `not graded` where no grade exists (mechanism only,
    or DDInter's own level `Unknown`)."""

    major = "Major"
    moderate = "Moderate"
    minor = "Minor"
    not_graded = "not graded"


class DrugName(BaseModel):
    id: str = Field(description="Drug id: DrugBank (`DB00945`) or DDInter (`DDInter123`) for unresolved names")
    name: str


class Candidate(BaseModel):
    """A ranked candidate drug for a typed name."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "id": "DB00945", "name": "Acetylsalicylic acid", "matched_name": "Aspirin", "score": 1.0, "method": "alias"}})
    id: str
    name: str
    matched_name: str = Field(description="the name, synonym or brand that matched")
    score: float = Field(ge=0, le=1, description="1.0 for exact/alias matches; fuzzy ratio / 100 otherwise")
    method: str | None = Field(None, description="id, exact, alias, normalised, salt-stripped, fuzzy, medication, "
                                                 "ambiguous")


class Suggestion(BaseModel):
    id: str
    name: str
    matched_name: str
    score: float


class ErrorWithSuggestions(BaseModel):
    """404: the entity is unknown; `suggestions` are ranked guesses."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "detail": "no Drug with id 'DB99999'", "suggestions": [
            {"id": "DB00945", "name": "Acetylsalicylic acid", "matched_name": "Aspirin", "score": 0.9}]}})
    detail: str
    suggestions: list[dict] = []


class ErrorDetail(BaseModel):
    detail: str
    error: str | None = None
    reason: str | None = None
