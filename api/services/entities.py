"""Entities, neighbours and paths: labels and types interpolated only after checking them against the schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from neo4j import Driver

from api.services import serialize
from api.services.db import run_read, run_read_records
from api.services.lookup import DrugLookup
from kg.errors import InvalidInput, NotFound
from kg.schema import get_schema

MAX_PAGE = 200
MAX_PATH_LENGTH = 4
MAX_PATHS = 100
DIRECTIONS = ("out", "in", "both")
_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')
_STEP = re.compile(r"(?:-(?P<out>[A-Za-z_][A-Za-z0-9_]*)->|<-(?P<in>[A-Za-z_][A-Za-z0-9_]*)-|"
                   r"-(?P<both>[A-Za-z_][A-Za-z0-9_]*)-)(?P<label>[A-Za-z][A-Za-z0-9_]*)")
_FIRST = re.compile(r"^\s*(?P<label>[A-Za-z][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Step:
    type: str
    direction: str
    label: str


def hidden_labels() -> list[str]:
    return sorted(n for n, s in get_schema().labels.items() if s.patient_data)


def hidden_types() -> list[str]:
    return sorted(n for n, s in get_schema().relationships.items() if s.patient_data)


def check_label(label: str, field: str) -> str:
    """A schema label safe to interpolate; patient-data labels are not served here."""
    schema = get_schema()
    if label not in schema.labels:
        raise InvalidInput(f"{field}: unknown label {label!r}; known: {', '.join(sorted(schema.labels))}", field)
    if schema.labels[label].patient_data:
        raise InvalidInput(f"{field}: {label} is patient data and is not served by this endpoint", field)
    return schema.check_label(label)


def check_type(rel_type: str, field: str) -> str:
    schema = get_schema()
    if rel_type not in schema.relationships:
        raise InvalidInput(f"{field}: unknown relationship type {rel_type!r}; known: "
                           f"{', '.join(sorted(schema.relationships))}", field)
    if schema.relationships[rel_type].patient_data:
        raise InvalidInput(f"{field}: {rel_type} is patient data and is not served by this endpoint", field)
    return schema.check_rel(rel_type)


def check_direction(direction: str, field: str) -> str:
    if direction not in DIRECTIONS:
        raise InvalidInput(f"{field}: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}", field)
    return direction


def _type_alternation(types: list[str], field: str) -> str:
    if not types:
        types = sorted(n for n, s in get_schema().relationships.items() if not s.patient_data)
    return "|".join(check_type(t, f"{field}[{i}]") for i, t in enumerate(types))


def _arrow(direction: str, inner: str) -> tuple[str, str]:
    return {"out": ("-", f"[{inner}]->"), "in": ("<-", f"[{inner}]-"), "both": ("-", f"[{inner}]-")}[direction]


def parse_metapath(text: str) -> tuple[str, list[Step]]:
    """'Drug-BINDS->Gene<-ASSOCIATES-Disease' -> ('Drug', [Step(BINDS, out, Gene), Step(ASSOCIATES, in, Disease)])."""
    first = _FIRST.match(text)
    if not first:
        raise InvalidInput(f"metapath: {text!r} does not start with a label", "metapath")
    pos, steps = first.end(), []
    while pos < len(text.rstrip()):
        step = _STEP.match(text, pos)
        if not step:
            raise InvalidInput(f"metapath: cannot read {text[pos:]!r} (expected -TYPE->Label, <-TYPE-Label or "
                               "-TYPE-Label)", "metapath")
        direction = "out" if step["out"] else "in" if step["in"] else "both"
        steps.append(Step(step[direction], direction, step["label"]))
        pos = step.end()
    return first["label"], steps


def validate_steps(start_label: str, steps: list[Step]) -> None:
    """Every label and type known, every step allowed by the schema in its direction."""
    schema = get_schema()
    check_label(start_label, "start.label")
    if not 1 <= len(steps) <= MAX_PATH_LENGTH:
        raise InvalidInput(f"steps: a metapath has 1..{MAX_PATH_LENGTH} steps, got {len(steps)}", "steps")
    prev = start_label
    for i, step in enumerate(steps):
        check_type(step.type, f"steps[{i}].type")
        check_direction(step.direction, f"steps[{i}].direction")
        check_label(step.label, f"steps[{i}].label")
        rel = schema.rel(step.type)
        ok = {"out": rel.allows(prev, step.label), "in": rel.allows(step.label, prev),
              "both": rel.allows(prev, step.label) or rel.allows(step.label, prev)}[step.direction]
        if not ok:
            raise InvalidInput(f"steps[{i}]: the schema has no {prev}-{step.type}-{step.label} in direction "
                               f"{step.direction!r} ({step.type}: {', '.join(rel.sources)} -> "
                               f"{', '.join(rel.targets)})", f"steps[{i}]")
        prev = step.label


def lucene_fuzzy(text: str) -> str:
    terms = [_LUCENE_SPECIAL.sub(r"\\\1", t) for t in text.split() if t]
    return " ".join(f"{t}~" for t in terms[:8])


class EntityService:
    def __init__(self, driver: Driver, database: str, lookup: DrugLookup | None = None) -> None:
        self.driver, self.database, self.lookup = driver, database, lookup

    def suggest(self, label: str, text: str, k: int = 5) -> list[dict]:
        """Ranked guesses for an unknown id or name of a label (DrugBank vocabulary, fulltext, id prefix)."""
        if label == "Drug" and self.lookup is not None:
            return self.lookup.suggest(text, k)
        spec = get_schema().label(label)
        out: list[dict] = []
        if spec.fulltext and lucene_fuzzy(text):
            rows = run_read(self.driver, self.database, """
                CALL db.index.fulltext.queryNodes('name_fulltext', $q) YIELD node, score
                WHERE $label IN labels(node)
                RETURN node.id AS id, node.name AS name, score LIMIT $k""",
                            {"q": lucene_fuzzy(text), "label": label, "k": k})
            out = [{"id": r["id"], "name": r["name"], "matched_name": r["name"], "score": round(r["score"], 3)}
                   for r in rows]
        if len(out) < k:
            label_q = check_label(label, "label")
            rows = run_read(self.driver, self.database,
                            f"MATCH (n:{label_q}) WHERE n.id STARTS WITH $prefix RETURN n.id AS id, n.name AS name "
                            "ORDER BY n.id LIMIT $k", {"prefix": text[: max(3, len(text) - 2)], "k": k})
            seen = {s["id"] for s in out}
            out += [{"id": r["id"], "name": r["name"], "matched_name": r["id"], "score": 0.5}
                    for r in rows if r["id"] not in seen]
        return out[:k]

    def get(self, label: str, entity_id: str) -> dict[str, Any]:
        """One entity with its properties and relationship counts per type and direction."""
        label_q = check_label(label, "label")
        records = run_read_records(self.driver, self.database, f"""
            MATCH (n:{label_q} {{id: $id}})
            RETURN n, COLLECT {{
              MATCH (n)-[r]-() WHERE NOT type(r) IN $hidden
              WITH type(r) AS type, CASE WHEN startNode(r) = n THEN 'out' ELSE 'in' END AS direction, count(*) AS c
              RETURN {{type: type, direction: direction, count: c}} ORDER BY type, direction
            }} AS degree""", {"id": entity_id, "hidden": hidden_types()})
        if not records:
            raise NotFound(f"no {label} with id {entity_id!r}", self.suggest(label, entity_id))
        return {**serialize.node(records[0]["n"]), "degree": records[0]["degree"]}

    def neighbours(self, label: str, entity_id: str, types: list[str], direction: str, neighbour_label: str | None,
                   limit: int, offset: int) -> dict[str, Any]:
        label_q = check_label(label, "label")
        check_direction(direction, "direction")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE}, got {limit}", "limit")
        if offset < 0:
            raise InvalidInput(f"offset must be >= 0, got {offset}", "offset")
        inner = "r" + (":" + _type_alternation(types, "type") if types else "")
        other = f":{check_label(neighbour_label, 'neighbour_label')}" if neighbour_label else ""
        left, right = _arrow(direction, inner)
        pattern = f"(n){left}{right}(m{other})"
        where = "NOT type(r) IN $hidden_types AND none(l IN labels(m) WHERE l IN $hidden_labels)"
        records = run_read_records(self.driver, self.database, f"""
            MATCH (n:{label_q} {{id: $id}})
            RETURN n,
                   COUNT {{ MATCH {pattern} WHERE {where} }} AS total,
                   COLLECT {{ MATCH {pattern} WHERE {where}
                              WITH r, m ORDER BY type(r), toLower(coalesce(m.name, m.id)), m.id
                              SKIP $offset LIMIT $limit RETURN [r, m] }} AS page""",
                                   {"id": entity_id, "offset": offset, "limit": limit, "hidden_types": hidden_types(),
                                    "hidden_labels": hidden_labels()})
        if not records:
            raise NotFound(f"no {label} with id {entity_id!r}", self.suggest(label, entity_id))
        n = records[0]["n"]
        items = []
        for r, m in records[0]["page"]:
            rel = serialize.relationship(r)
            rel["direction"] = "out" if r.start_node is not None and r.start_node.element_id == n.element_id else "in"
            items.append({"relationship": rel, "node": serialize.node(m)})
        return {"entity": serialize.node(n), "types": types, "direction": direction,
                "neighbour_label": neighbour_label, "total": records[0]["total"], "limit": limit, "offset": offset,
                "items": items}

    def _require(self, found: dict[str, bool], refs: dict[str, tuple[str, str]]) -> None:
        for key, ok in found.items():
            if not ok:
                label, entity_id = refs[key]
                raise NotFound(f"{key}: no {label} with id {entity_id!r}", self.suggest(label, entity_id))

    def shortest_paths(self, source: tuple[str, str], target: tuple[str, str], max_length: int, limit: int,
                       types: list[str]) -> dict[str, Any]:
        """All shortest paths (undirected, length <= 4) between two entities, up to `limit`."""
        la, lb = check_label(source[0], "source.label"), check_label(target[0], "target.label")
        if not 1 <= max_length <= MAX_PATH_LENGTH:
            raise InvalidInput(f"max_length must be 1..{MAX_PATH_LENGTH}, got {max_length}", "max_length")
        if not 1 <= limit <= MAX_PATHS:
            raise InvalidInput(f"limit must be 1..{MAX_PATHS}, got {limit}", "limit")
        if source == target:
            raise InvalidInput("source and target are the same entity", "target")
        alternation = _type_alternation(types, "types")
        records = run_read_records(self.driver, self.database, f"""
            OPTIONAL MATCH (a:{la} {{id: $a}})
            OPTIONAL MATCH (b:{lb} {{id: $b}})
            RETURN a IS NOT NULL AS a_found, b IS NOT NULL AS b_found,
                   CASE WHEN a IS NULL OR b IS NULL THEN [] ELSE COLLECT {{
                     MATCH p = allShortestPaths((a)-[:{alternation}*..{int(max_length)}]-(b)) RETURN p LIMIT $limit
                   }} END AS paths""", {"a": source[1], "b": target[1], "limit": limit})
        row = records[0]
        self._require({"source": row["a_found"], "target": row["b_found"]}, {"source": source, "target": target})
        paths = [serialize.path(p) for p in row["paths"]]
        return {"source": {"label": source[0], "id": source[1]}, "target": {"label": target[0], "id": target[1]},
                "max_length": max_length, "length": paths[0]["length"] if paths else None, "count": len(paths),
                "paths": paths}

    def metapath(self, start: tuple[str, str], steps: list[Step], end_id: str | None, limit: int) -> dict[str, Any]:
        """Paths from `start` along the given steps (each label and type checked against the schema)."""
        validate_steps(start[0], steps)
        if not 1 <= limit <= MAX_PATHS:
            raise InvalidInput(f"limit must be 1..{MAX_PATHS}, got {limit}", "limit")
        parts = [f"(n0:{start[0]} {{id: $start}})"]
        for i, step in enumerate(steps):
            left, right = _arrow(step.direction, f"r{i}:{step.type}")
            end = " {id: $end}" if end_id is not None and i == len(steps) - 1 else ""
            parts.append(f"{left}{right}(n{i + 1}:{step.label}{end})")
        pattern = "".join(parts)
        end_label = steps[-1].label
        records = run_read_records(self.driver, self.database, f"""
            OPTIONAL MATCH (s:{start[0]} {{id: $start}})
            OPTIONAL MATCH (e:{end_label} {{id: $end}})
            RETURN s IS NOT NULL AS s_found, e IS NOT NULL AS e_found,
                   CASE WHEN s IS NULL THEN [] ELSE COLLECT {{ MATCH p = {pattern} RETURN p LIMIT $fetch }} END AS paths
            """, {"start": start[1], "end": end_id, "fetch": limit + 1})
        row = records[0]
        found = {"start": row["s_found"]}
        refs = {"start": start}
        if end_id is not None:
            found["end"], refs["end"] = row["e_found"], (end_label, end_id)
        self._require(found, refs)
        paths = [serialize.path(p) for p in row["paths"][:limit]]
        metapath = start[0] + "".join(
            {"out": f"-{s.type}->", "in": f"<-{s.type}-", "both": f"-{s.type}-"}[s.direction] + s.label for s in steps)
        return {"start": {"label": start[0], "id": start[1]}, "end": {"label": end_label, "id": end_id},
                "metapath": metapath, "steps": [s.__dict__ for s in steps], "count": len(paths),
                "truncated": len(row["paths"]) > limit, "paths": paths}
