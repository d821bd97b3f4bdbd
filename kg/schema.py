"""The graph schema, read from `ontologies/schema.yaml`: labels, types, sources, validation, DDL."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from kg.settings import REPO_ROOT

SCHEMA_PATH = REPO_ROOT / "ontologies" / "schema.yaml"
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class LabelSpec:
    name: str
    biolink: str
    id_pattern: re.Pattern[str]
    curie_prefix: str
    required: tuple[str, ...]
    properties: dict[str, str]
    text: tuple[str, ...] = ()
    fulltext: tuple[str, ...] = ()
    patient_data: bool = False
    provenance: bool = True
    id_namespace: str = ""
    curie_prefix_by_id: tuple[tuple[re.Pattern[str], str], ...] = ()  # ids of another namespace, e.g. DDInter

    def curie(self, node_id: str) -> str:
        """The node's CURIE: the prefix of the first `curie_prefix_by_id` pattern its id matches, else
        `curie_prefix`, then the id ('DB00945' -> 'drugbank:DB00945', 'DDInter9' -> 'ddinter:DDInter9')."""
        prefix = next((p for pattern, p in self.curie_prefix_by_id if pattern.match(node_id)), self.curie_prefix)
        return f"{prefix}{node_id}"


@dataclass(frozen=True)
class RelSpec:
    name: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    biolink: str
    meaning: str
    per_source: bool = False
    undirected: bool = False
    same_label: bool = False
    patient_data: bool = False

    def allows(self, start: str, end: str) -> bool:
        if start not in self.sources or end not in self.targets:
            return False
        return start == end if self.same_label else True


@dataclass(frozen=True)
class SourceSpec:
    key: str
    name: str
    version: str
    license: str
    commercial: bool


@dataclass
class Schema:
    labels: dict[str, LabelSpec]
    relationships: dict[str, RelSpec]
    sources: dict[str, SourceSpec]
    biolink_version: str = ""
    raw: dict = field(default_factory=dict, repr=False)

    def label(self, name: str) -> LabelSpec:
        """The spec of a label; raises KeyError naming the label if unknown."""
        if name not in self.labels:
            raise KeyError(f"unknown label {name!r}; known: {', '.join(sorted(self.labels))}")
        return self.labels[name]

    def rel(self, name: str) -> RelSpec:
        if name not in self.relationships:
            raise KeyError(f"unknown relationship type {name!r}; known: {', '.join(sorted(self.relationships))}")
        return self.relationships[name]

    def check_label(self, name: str) -> str:
        """A label that is safe to interpolate into Cypher (known to the schema)."""
        self.label(name)
        if not _IDENT.match(name):
            raise KeyError(f"label {name!r} is not a plain identifier")
        return name

    def check_rel(self, name: str) -> str:
        self.rel(name)
        if not _IDENT.match(name):
            raise KeyError(f"relationship type {name!r} is not a plain identifier")
        return name

    def validate_node(self, label: str, props: dict) -> str | None:
        """None when valid, else the reason (names the field and value)."""
        spec = self.labels.get(label)
        if spec is None:
            return f"unknown label {label!r}"
        for req in spec.required:
            value = props.get(req)
            if value is None or value == "":
                return f"{label}: required property {req!r} is missing"
        node_id = str(props["id"])
        if not spec.id_pattern.match(node_id):
            return f"{label}: id {node_id!r} does not match {spec.id_pattern.pattern}"
        return None

    def describe(self) -> dict:
        """The schema as data for people and tools (`medkg kg schema`, `GET /schema`): each label with its Biolink
        class, id namespace, id pattern and CURIE prefix; each relationship type with its ends and predicate."""
        return {
            "biolink_version": self.biolink_version,
            "labels": [{"label": s.name, "biolink": s.biolink, "id_namespace": s.id_namespace,
                        "id_pattern": s.id_pattern.pattern, "curie_prefix": s.curie_prefix,
                        "curie_prefix_by_id": {p.pattern: v for p, v in s.curie_prefix_by_id},
                        "properties": sorted(s.properties), "patient_data": s.patient_data}
                       for s in sorted(self.labels.values(), key=lambda s: s.name)],
            "relationships": [{"type": r.name, "from": list(r.sources), "to": list(r.targets), "biolink": r.biolink,
                               "meaning": r.meaning, "patient_data": r.patient_data}
                              for r in sorted(self.relationships.values(), key=lambda r: r.name)],
        }

    def constraint_statements(self) -> list[str]:
        out = []
        for name in sorted(self.labels):
            out.append(
                f"CREATE CONSTRAINT {name.lower()}_id IF NOT EXISTS FOR (n:{name}) REQUIRE n.id IS UNIQUE"
            )
        return out

    def index_statements(self) -> list[str]:
        out = []
        for name, spec in sorted(self.labels.items()):
            if "name" in spec.properties:
                out.append(f"CREATE INDEX {name.lower()}_name IF NOT EXISTS FOR (n:{name}) ON (n.name)")
        ft_labels = sorted(n for n, s in self.labels.items() if s.fulltext)
        ft_props = sorted({p for n in ft_labels for p in self.labels[n].fulltext})
        out.append(
            "CREATE FULLTEXT INDEX name_fulltext IF NOT EXISTS FOR (n:" + "|".join(ft_labels) + ") ON EACH ["
            + ", ".join(f"n.{p}" for p in ft_props) + "]"
        )
        return out


def describe_text(d: dict) -> str:
    """`medkg kg schema` as tables."""
    from kg.cliutil import table

    labels = [(x["label"], x["biolink"], x["id_namespace"], x["curie_prefix"] or "-",
               "yes" if x["patient_data"] else "") for x in d["labels"]]
    rels = [(x["type"], "|".join(x["from"]), "|".join(x["to"]), x["biolink"]) for x in d["relationships"]]
    return "\n".join([f"Biolink {d['biolink_version']}", "",
                      table(labels, ("label", "biolink", "id namespace", "curie prefix", "patient data")), "",
                      table(rels, ("type", "from", "to", "biolink"))])


def _parse(raw: dict) -> Schema:
    labels = {}
    for name, spec in raw["nodes"].items():
        labels[name] = LabelSpec(
            name=name,
            biolink=spec["biolink"],
            id_pattern=re.compile(spec["id_pattern"]),
            curie_prefix=spec.get("curie_prefix", ""),
            required=tuple(spec.get("required", ["id"])),
            properties=dict(spec.get("properties", {})),
            text=tuple(spec.get("text", ())),
            fulltext=tuple(spec.get("fulltext", ())),
            patient_data=bool(spec.get("patient_data", False)),
            provenance=bool(spec.get("provenance", True)),
            id_namespace=str(spec.get("id_namespace", "")),
            curie_prefix_by_id=tuple((re.compile(k), v) for k, v in spec.get("curie_prefix_by_id", {}).items()),
        )
    rels = {}
    for name, spec in raw["relationships"].items():
        rels[name] = RelSpec(
            name=name,
            sources=tuple(_as_list(spec["from"])),
            targets=tuple(_as_list(spec["to"])),
            biolink=spec["biolink"],
            meaning=spec.get("meaning", ""),
            per_source=bool(spec.get("per_source", False)),
            undirected=bool(spec.get("undirected", False)),
            same_label=bool(spec.get("same_label", False)),
            patient_data=bool(spec.get("patient_data", False)),
        )
    sources = {k: SourceSpec(key=k, name=v["name"], version=str(v["version"]), license=v["license"],
                             commercial=bool(v["commercial"])) for k, v in raw["sources"].items()}
    return Schema(labels=labels, relationships=rels, sources=sources,
                  biolink_version=str(raw.get("biolink_version", "")), raw=raw)


def load_schema(path: Path | None = None) -> Schema:
    return _parse(yaml.safe_load((path or SCHEMA_PATH).read_text()))


@lru_cache
def get_schema() -> Schema:
    return load_schema()
