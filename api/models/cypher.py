"""Read-only Cypher request and response."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

INT64 = (-(2**63), 2**63 - 1)


def _check_value(value: Any, path: str) -> None:
    """Neo4j integers are 64-bit: a larger one is a 422 naming where it is, not a driver crash."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        raise ValueError(f"{path}: integer {value} is outside Neo4j's 64-bit range")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_value(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]")


class CypherRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "query": "MATCH (d:Drug {id: $id})-[r:INTERACTS_WITH]-(o:Drug) RETURN o.name AS partner, r.source AS source, "
                 "r.severity AS severity ORDER BY partner LIMIT 5",
        "parameters": {"id": "DB00682"}, "limit": 100}})
    query: str = Field(min_length=1, max_length=20000, description="one read-only Cypher statement")
    parameters: dict[str, Any] = Field({}, description="values for $parameters (never spliced into the text)")
    limit: int = Field(100, ge=1, le=5000, description="row cap; `truncated` says when more rows existed")
    timeout: float = Field(10.0, gt=0, le=30, description="transaction timeout in seconds")

    @field_validator("parameters")
    @classmethod
    def _fits_neo4j(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_value(value, "parameters")
        return value


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
