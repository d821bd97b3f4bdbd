"""Researchers' Cypher never reaches patient data: a check of Neo4j's EXPLAIN plan before the statement runs,
and a check of every returned value after.

Patient data = the labels and relationship types marked `patient_data: true` in ontologies/schema.yaml
(Patient, HAS_CONDITION, TAKES, ALLERGIC_TO, REPORTS, Image, HAS_IMAGE, SHOWS).
Patient nodes are connected only by those types, so a plan is refused when any operator
- scans every node or seeks nodes/relationships by internal id (AllNodesScan, NodeByIdSeek, ...),
- names a patient-data label or type (label scans, filters, expansions, degree counts, count store),
- expands an untyped relationship, a type expression other than plain `A|B`, or a dynamic type
  (single-hop, variable-length, shortest path, quantified paths, `COUNT { (d)--() }`),
- counts relationships from the count store without a type next to a labelled node (a per-label
  aggregate that could be patient-only); whole-graph totals (`MATCH (n) RETURN count(n)`) stay allowed.
`labels(n)`-based filtering needs one of these to reach a node, so it is refused with it. The result check
refuses (and withholds) rows holding a patient-data node, relationship or path all the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from neo4j.graph import Node, Path, Relationship

from kg.schema import get_schema

REFUSED_OPERATORS = {
    "AllNodesScan": "scans every node (Patient nodes included)",
    "PartitionedAllNodesScan": "scans every node (Patient nodes included)",
    "NodeByIdSeek": "seeks nodes by internal id, whatever their label",
    "NodeByElementIdSeek": "seeks nodes by element id, whatever their label",
    "DirectedRelationshipByIdSeek": "seeks relationships by internal id, whatever their type",
    "UndirectedRelationshipByIdSeek": "seeks relationships by internal id, whatever their type",
    "DirectedRelationshipByElementIdSeek": "seeks relationships by element id, whatever their type",
    "UndirectedRelationshipByElementIdSeek": "seeks relationships by element id, whatever their type",
    "DirectedAllRelationshipsScan": "scans every relationship (patient data included)",
    "UndirectedAllRelationshipsScan": "scans every relationship (patient data included)",
    "PartitionedDirectedAllRelationshipsScan": "scans every relationship (patient data included)",
    "PartitionedUndirectedAllRelationshipsScan": "scans every relationship (patient data included)",
}
_BACKTICKED = re.compile(r"`[^`]*`")
_REL_BRACKET = re.compile(r"-\[([^\]]*)\]-")
_REL_BARE = re.compile(r"\)\s*<?--?>?\s*\(")  # (a)--(b), (a)-->(b), (a)<--(b): no brackets, no type
_REL_INNER = re.compile(r"^\s*(?:\w+)?\s*(?::(?P<types>[^*{]*))?(?P<rest>[*{].*)?$", re.DOTALL)
_PLAIN_TYPES = re.compile(r"^\s*\w+\s*(?:\|\s*\w+\s*)*$")
_COUNT_LABELLED = re.compile(r"\(\s*:\s*\w")


@lru_cache(maxsize=1)
def hidden_names() -> tuple[frozenset[str], frozenset[str]]:
    """(patient-data labels, patient-data relationship types)."""
    schema = get_schema()
    labels = frozenset(n for n, s in schema.labels.items() if s.patient_data)
    types = (frozenset(n for n, s in schema.relationships.items() if s.patient_data))
    return labels, types


@lru_cache(maxsize=1)
def _named_pattern() -> re.Pattern[str]:
    labels, types = hidden_names()
    names = "|".join(sorted(labels | types, key=len, reverse=True))
    return re.compile(rf"[:|&!(]\s*({names})\b")


def _operators(plan: dict | None) -> Iterable[tuple[str, str]]:
    if not plan:
        return
    yield plan.get("operatorType", "").split("@")[0], str(plan.get("args", {}).get("Details", ""))
    for child in plan.get("children", []):
        yield from _operators(child)


def _rel_refusal(inner: str, count_store: bool, details: str) -> str | None:
    parsed = _REL_INNER.match(inner)
    types = (parsed["types"] or "").strip() if parsed else None
    if parsed is None or (types and not _PLAIN_TYPES.match(types)):
        return f"relationship pattern [{inner}] uses a type expression (only plain TYPE or A|B are allowed)"
    if not types:
        if count_store and not _COUNT_LABELLED.search(details):
            return None  # a whole-graph total
        return f"untyped relationship pattern [{inner}] could reach Patient nodes; name the relationship types"
    return None


def plan_privacy_refusal(plan: dict | None) -> str | None:
    """Why a plan could read patient data, or None (operators and their details, the whole tree)."""
    named = _named_pattern()
    for operator, raw in _operators(plan):
        if operator in REFUSED_OPERATORS:
            return f"the plan {REFUSED_OPERATORS[operator]} ({operator}); start from a labelled node"
        details = _BACKTICKED.sub("``", raw)
        found = named.search(details)
        if found:
            return f"the plan touches patient data ({found.group(1)} in {operator}: {raw.strip()[:120]})"
        count_store = operator.endswith("CountFromCountStore")
        for rel in _REL_BRACKET.finditer(details):
            why = _rel_refusal(rel.group(1), count_store, details)
            if why:
                return f"{why} ({operator}: {raw.strip()[:120]})"
        if _REL_BARE.search(details):
            return (f"untyped relationship pattern could reach Patient nodes; name the relationship types "
                    f"({operator}: {raw.strip()[:120]})")
    return None


def _is_virtual(entity: Node | Relationship) -> bool:
    """Virtual entities (db.schema.visualization) describe the schema, not data: negative ids."""
    return str(entity.element_id).startswith("-")


def value_privacy_refusal(value: Any) -> str | None:
    """Why a returned value holds patient data (a Patient/Image node, a patient-data relationship), or None."""
    labels, types = hidden_names()
    if isinstance(value, Node):
        hit = labels & set(value.labels)
        return f"a {sorted(hit)[0]} node" if hit and not _is_virtual(value) else None
    if isinstance(value, Relationship):
        if value.type in types and not _is_virtual(value):
            return f"a {value.type} relationship"
        return value_privacy_refusal(value.start_node) or value_privacy_refusal(value.end_node)
    if isinstance(value, Path):
        for item in (*value.nodes, *value.relationships):
            why = value_privacy_refusal(item)
            if why:
                return why
        return None
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for item in value:
            why = value_privacy_refusal(item)
            if why:
                return why
    return None
