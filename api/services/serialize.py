"""Neo4j values -> plain JSON-able dicts (no embedding vectors) and CSV cells."""

from __future__ import annotations

import json
from typing import Any

from neo4j.graph import Node, Path, Relationship

PROVENANCE = ("sources", "licenses", "source_versions")
_HIDDEN = ("embedding", "vector")
_VECTOR_MIN = 32  # a list of this many numbers is a vector, not a property a person reads


def _is_vector(key: str, value: Any) -> bool:
    if any(h in key.lower() for h in _HIDDEN):
        return True
    return (isinstance(value, list) and len(value) >= _VECTOR_MIN
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value))


def properties(entity: Node | Relationship | dict) -> dict[str, Any]:
    """The readable properties: embedding vectors left out, temporal/spatial values as strings."""
    return {k: plain(v) for k, v in sorted(entity.items()) if not _is_vector(k, v)}


def node(n: Node) -> dict[str, Any]:
    labels = sorted(n.labels)
    return {"kind": "node", "label": labels[0] if labels else None, "labels": labels, "id": n.get("id"),
            "name": n.get("name"), "element_id": n.element_id, "properties": properties(n)}


def relationship(r: Relationship) -> dict[str, Any]:
    start, end = r.start_node, r.end_node
    return {"kind": "relationship", "type": r.type, "element_id": r.element_id,
            "start": start.get("id") if start is not None else None,
            "end": end.get("id") if end is not None else None,
            "start_label": sorted(start.labels)[0] if start is not None and start.labels else None,
            "end_label": sorted(end.labels)[0] if end is not None and end.labels else None,
            **{k: list(r.get(k) or []) for k in PROVENANCE},
            "properties": properties(r)}


def path(p: Path) -> dict[str, Any]:
    return {"kind": "path", "length": len(p), "nodes": [node(n) for n in p.nodes],
            "relationships": [relationship(r) for r in p.relationships]}


def plain(value: Any) -> Any:
    """Any value a Cypher result can hold, as JSON-able Python."""
    if isinstance(value, Node):
        return node(value)
    if isinstance(value, Relationship):
        return relationship(value)
    if isinstance(value, Path):
        return path(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return str(value)


def csv_cell(value: Any) -> str:
    """A CSV cell: scalars as text, lists and objects as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
