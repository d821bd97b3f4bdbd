"""`POST /cypher`: read-only Cypher with parameters, a timeout and a row cap; JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.models.common import ErrorDetail
from api.models.cypher import CypherRefusal, CypherRequest, CypherResponse
from api.security import Role, require
from api.services.cypher import run_cypher, to_csv

RESEARCH = require(Role.researcher)  # raw Cypher: researchers (and admins) only
router = APIRouter(tags=["cypher"], dependencies=[Depends(RESEARCH)])
CSV_EXAMPLE = "partner,source,severity\nAbciximab,ddinter,Major\n"


@router.post("/cypher", response_model=CypherResponse, summary="Run one read-only Cypher statement",
             responses={200: {"content": {"text/csv": {"example": CSV_EXAMPLE}}},
                        403: {"model": CypherRefusal, "description": "write/admin/file statement: refused, not run"},
                        504: {"model": ErrorDetail, "description": "the query ran past its timeout"}})
def cypher(request: Request, body: CypherRequest,
           format: Annotated[str | None, Query(pattern="^(json|csv)$",
                                               description="csv, or send `Accept: text/csv`")] = None) -> Any:
    """Checked three ways before it runs: no write/admin clause, LOAD CSV, USE, CALL {…} IN TRANSACTIONS or
    procedure off the read-only allow-list; Neo4j's EXPLAIN plan must be read-only (query type 'r'); then it
    runs in a READ transaction with `timeout` seconds and at most `limit` rows."""
    services = request.app.state.services
    result = run_cypher(request.app.state.driver, services.database, body.query, body.parameters, body.limit,
                        body.timeout, patient_guard=request.state.api_key.role != Role.admin)
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        return Response(to_csv(result), media_type="text/csv; charset=utf-8",
                        headers={"X-Row-Count": str(result["row_count"]),
                                 "X-Truncated": str(result["truncated"]).lower()})
    return result
