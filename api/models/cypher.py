"""Read-only Cypher request and response."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CypherRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "query": "MATCH (d:Drug {id: $id})-[r:INTERACTS_WITH]-(o:Drug) RETURN o.name AS partner, r.source AS source, "
                 "r.severity AS severity ORDER BY partner LIMIT 5",
        "parameters": {"id": "DB00682"}, "limit": 100}})
    query: str = Field(min_length=1, max_length=20000, description="one read-only Cypher statement")
    parameters: dict[str, Any] = Field({}, description="values for $parameters (never spliced into the text)")
    limit: int = Field(100, ge=1, le=5000, description="row cap; `truncated` says when more rows existed")
    timeout: float = Field(10.0, gt=0, le=30, description="transaction timeout in seconds")


class CypherResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "columns": ["partner", "source", "severity"], "rows": [
            {"partner": "Abciximab", "source": "ddinter", "severity": "Major"}],
        "row_count": 1, "truncated": False, "limit": 100, "query_type": "r", "elapsed_ms": 12.3}})
    columns: list[str]
    rows: list[dict[str, Any]] = Field(description="one object per row; nodes/relationships/paths as plain dicts")
    row_count: int
    truncated: bool
    limit: int
    query_type: str | None
    elapsed_ms: float


class CypherRefusal(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "detail": "refused, not executed: write and administration clauses are not allowed (found 'CREATE')",
        "reason": "write and administration clauses are not allowed (found 'CREATE')"}})
    detail: str
    reason: str
