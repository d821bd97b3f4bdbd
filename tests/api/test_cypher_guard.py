"""The static half of the read-only Cypher guard (no Neo4j needed)."""

from __future__ import annotations

import pytest

from api.services.cypher import plan_refusal, refuse_reason


@pytest.mark.parametrize("query", [
    "MATCH (n:Drug) WHERE n.name = 'CREATE' RETURN n",  # keyword inside a string literal
    "MATCH (n) // DELETE everything\nRETURN count(n)",  # keyword inside a comment
    "MATCH (n:Drug) RETURN n.settings, n.created, n.offset",  # property names, not clauses
    "MATCH (d:Drug)-[:CAUSES]->(s) RETURN s.name STARTS WITH 'a'",
    "CALL db.index.fulltext.queryNodes('name_fulltext', 'asprin~') YIELD node RETURN node.id",
    "CALL { MATCH (n) RETURN n LIMIT 1 } RETURN n",
])
def test_reads_pass(query: str) -> None:
    assert refuse_reason(query) is None


@pytest.mark.parametrize(("query", "needle"), [
    ("CREATE (n)", "write"),
    ("LOAD CSV FROM 'x' AS r RETURN r", "LOAD CSV"),
    ("CALL dbms.components()", "dbms"),
    ("CALL db.createLabel('X')", "allow-list"),
    ("USE system RETURN 1", "USE"),
    ("CALL { CREATE (n) } IN TRANSACTIONS", "TRANSACTIONS"),
])
def test_writes_refused(query: str, needle: str) -> None:
    reason = refuse_reason(query)
    assert reason is not None and needle in reason


def test_plan_must_be_read_only() -> None:
    assert plan_refusal("r", None) is None
    assert "query type 'rw'" in (plan_refusal("rw", None) or "")
    assert "'s'" in (plan_refusal("s", None) or "")
    plan = {"operatorType": "ProduceResults@neo4j", "args": {}, "children": [
        {"operatorType": "ProcedureCall@neo4j", "args": {"Details": "dbms.listConfig() :: (name :: STRING)"}}]}
    assert "dbms.listconfig" in (plan_refusal("r", plan) or "")
