"""Read-only Cypher for researchers: static refusal, EXPLAIN query-type check, READ transaction, timeout, row cap.

A statement is executed only when all of these pass:
1. no write/admin clause, LOAD CSV, USE, CALL {…} IN TRANSACTIONS, SHOW, or a procedure outside a small
   read-only allow-list (text checked with comments and string literals removed);
2. Neo4j's plan (EXPLAIN, run in a READ transaction) has query type 'r' and calls no other procedure;
3. it then runs in the same READ transaction (session.execute_read) with a timeout, and at most
   `limit` rows are read (the rest is discarded);
4. for every role but admin, the plan and the returned values must not reach patient data (cypher_privacy).
"""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

from neo4j import Driver, ManagedTransaction, unit_of_work

from api.services import serialize
from api.services.cypher_privacy import plan_privacy_refusal, value_privacy_refusal
from api.services.db import read_tx
from api.services.errors import QueryRefused
from kg.errors import InvalidInput

MAX_ROWS = 5000
MAX_TIMEOUT = 30.0
ALLOWED_PROCEDURES = frozenset({
    "db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
    "db.schema.nodetypeproperties", "db.schema.reltypeproperties", "db.index.fulltext.querynodes",
    "db.index.fulltext.queryrelationships",
})
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
_BACKTICKS = re.compile(r"`([^`]*)`")
_NOT_AFTER = r"(?<![.\w$])"
_REFUSE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bLOAD\s+CSV\b", re.I), "LOAD CSV reads files and URLs"),
    (re.compile(r"\bIN\s+(?:\d+\s+)?(?:CONCURRENT\s+)?TRANSACTIONS\b", re.I),
     "CALL {…} IN TRANSACTIONS writes in batches"),
    (re.compile(_NOT_AFTER + r"USE\s+[\w`]", re.I), "USE selects another database (e.g. system)"),
    (re.compile(_NOT_AFTER + r"(?:dbms|apoc|gds|db\.create)\.", re.I),
     "dbms.*, apoc.*, gds.* and db.create.* procedures and functions are not allowed"),
    (re.compile(_NOT_AFTER + r"(CREATE|MERGE|DELETE|DETACH|SET|REMOVE|DROP|FOREACH|ALTER|RENAME|GRANT|DENY|REVOKE|"
                r"TERMINATE|SHOW|START|STOP|ENABLE|DEALLOCATE|REALLOCATE|FINISH)\b", re.I),
     "write and administration clauses are not allowed"),
]
_CALL = re.compile(r"\bCALL\s+([A-Za-z_][\w.]*)\s*\(?", re.I)
_PLAN_PROC = re.compile(r"^\s*([\w.]+)\s*\(")


def scrub(query: str) -> str:
    """The query with comments and string literals blanked and backtick quoting removed."""
    text = _COMMENTS.sub(" ", query)
    text = _STRINGS.sub("''", text)
    return _BACKTICKS.sub(lambda m: m.group(1), text)


def refuse_reason(query: str) -> str | None:
    """Why a statement is refused before Neo4j sees it, or None."""
    text = scrub(query)
    for pattern, reason in _REFUSE:
        found = pattern.search(text)
        if found:
            return f"{reason} (found {found.group(0).strip()!r})"
    for found in _CALL.finditer(text):
        name = found.group(1).lower()
        if name not in ALLOWED_PROCEDURES:
            return (f"procedure {found.group(1)!r} is not on the read-only allow-list "
                    f"({', '.join(sorted(ALLOWED_PROCEDURES))})")
    return None


def _plan_operators(plan: dict | None) -> list[tuple[str, str]]:
    if not plan:
        return []
    out = [(plan.get("operatorType", ""), str(plan.get("args", {}).get("Details", "")))]
    for child in plan.get("children", []):
        out += _plan_operators(child)
    return out


def plan_refusal(query_type: str | None, plan: dict | None) -> str | None:
    """Why Neo4j's plan of a statement is not read-only, or None."""
    if query_type != "r":
        return f"Neo4j plans this statement as query type {query_type!r}; only read-only ('r') statements run"
    for operator, details in _plan_operators(plan):
        op = operator.split("@")[0]
        if op.startswith("LoadCSV"):
            return "the plan reads a file (LoadCSV)"
        if op.startswith("ProcedureCall"):
            found = _PLAN_PROC.match(details)
            name = found.group(1).lower() if found else details
            if name not in ALLOWED_PROCEDURES:
                return f"the plan calls procedure {name!r}, which is not on the read-only allow-list"
    return None


def run_cypher(driver: Driver, database: str, query: str, parameters: dict[str, Any] | None, limit: int,
               timeout: float, patient_guard: bool = True) -> dict[str, Any]:
    """Check and run one read-only statement; rows as plain dicts (nodes, relationships, paths serialised).
    `patient_guard` (all but admins): refuse plans and results that reach patient data (cypher_privacy)."""
    if not query.strip():
        raise InvalidInput("query is empty", "query")
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput(f"limit must be 1..{MAX_ROWS}, got {limit}", "limit")
    if not 0 < timeout <= MAX_TIMEOUT:
        raise InvalidInput(f"timeout must be in (0, {MAX_TIMEOUT}] seconds, got {timeout}", "timeout")
    reason = refuse_reason(query)
    if reason:
        raise QueryRefused(f"refused, not executed: {reason}", reason)
    params = dict(parameters or {})
    started = time.perf_counter()

    @unit_of_work(timeout=timeout)
    def work(tx: ManagedTransaction) -> dict[str, Any]:
        explained = tx.run("EXPLAIN " + query, params).consume()
        why = plan_refusal(explained.query_type, explained.plan)
        why = why or (plan_privacy_refusal(explained.plan) if patient_guard else None)
        if why:
            raise QueryRefused(f"refused, not executed: {why}", why)
        result = tx.run(query, params)
        keys = list(result.keys())
        rows = []
        truncated = False
        for record in result:
            if len(rows) == limit:
                truncated = True
                break
            leak = value_privacy_refusal(record.values()) if patient_guard else None
            if leak:
                why = f"the result holds patient data ({leak}); rows withheld"
                raise QueryRefused(f"refused: {why}", why)
            rows.append({k: serialize.plain(v) for k, v in zip(keys, record.values(), strict=True)})
        result.consume()
        return {"columns": keys, "rows": rows, "truncated": truncated, "query_type": explained.query_type}

    out = read_tx(driver, database, work)
    return {**out, "row_count": len(out["rows"]), "limit": limit,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 2)}


def to_csv(result: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(result["columns"])
    for row in result["rows"]:
        writer.writerow([serialize.csv_cell(row.get(c)) for c in result["columns"]])
    return buf.getvalue()
