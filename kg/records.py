"""Build records: nodes, edges and rejects collected from the adapters before loading."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.schema import Schema

# Licenses whose terms allow commercial use; anything not listed counts as non-commercial.
COMMERCIAL_LICENSES = {
    "CC0 1.0", "CC BY 3.0", "CC BY 4.0", "CC BY-SA 3.0", "ODbL 1.0", "public domain", "NLM terms",
    "synthetic (Apache-2.0 generator)",
}


def is_commercial(license_: str) -> bool:
    return license_ in COMMERCIAL_LICENSES


@dataclass
class Reject:
    file: str
    line: int | None
    reason: str
    source: str

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "reason": self.reason, "source": self.source}


@dataclass
class Prov:
    """Provenance accumulated for one node or relationship."""

    sources: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    licenses: set[str] = field(default_factory=set)

    def add(self, source: str, version: str, license_: str) -> None:
        self.sources.add(source)
        self.versions.add(f"{source}:{version}")
        self.licenses.add(license_)

    def as_props(self) -> dict[str, list[str]]:
        return {"sources": sorted(self.sources), "source_versions": sorted(self.versions),
                "licenses": sorted(self.licenses)}


class GraphBatch:
    """Everything the adapters produced: merged nodes and edges, rejects, unresolved names."""

    def __init__(self, schema: Schema, data_dir: Path, excluded_sources: frozenset[str] = frozenset(),
                 commercial_only: bool = False) -> None:
        self.schema = schema
        self.data_dir = data_dir
        self.excluded_sources = excluded_sources
        self.commercial_only = commercial_only
        self.nodes: dict[tuple[str, str], dict[str, Any]] = {}
        self.node_prov: dict[tuple[str, str], Prov] = defaultdict(Prov)
        self.edges: dict[tuple, dict[str, Any]] = {}
        self.edge_prov: dict[tuple, Prov] = defaultdict(Prov)
        self.rejects: list[Reject] = []
        self.excluded = Counter()
        self.resolution: dict[str, dict] = {}

    # -- helpers ---------------------------------------------------------
    def rel_file(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.data_dir))
        except ValueError:
            return str(path)

    def _allowed(self, source: str, license_: str) -> bool:
        if source in self.excluded_sources:
            return False
        return not (self.commercial_only and not is_commercial(license_))

    def _license(self, source: str, license_: str | None) -> tuple[str, str]:
        spec = self.schema.sources[source]
        return spec.version, license_ or spec.license

    def reject(self, file: Path | str, line: int | None, reason: str, source: str) -> None:
        name = self.rel_file(file) if isinstance(file, Path) else file
        self.rejects.append(Reject(name, line, reason, source))

    # -- adding records --------------------------------------------------
    def add_node(self, label: str, node_id: str, props: dict[str, Any], source: str, *,
                 license: str | None = None, file: Path | None = None, line: int | None = None) -> bool:
        """Merge one node; invalid ones are rejected with file, line and reason. True if kept."""
        version, lic = self._license(source, license)
        if not self._allowed(source, lic):
            self.excluded[f"node:{label}:{source}"] += 1
            return False
        props = {k: v for k, v in props.items() if v is not None and v != "" and v != []}
        props["id"] = node_id
        why = self.schema.validate_node(label, props)
        if why:
            self.reject(file or "?", line, why, source)
            return False
        spec = self.schema.label(label)
        if not spec.patient_data:  # the CURIE comes from the schema, never from an adapter
            props["curie"] = spec.curie(node_id)
        key = (label, node_id)
        current = self.nodes.get(key)
        if current is None:
            self.nodes[key] = props
        else:
            for k, v in props.items():
                if isinstance(v, list) and isinstance(current.get(k), list):
                    current[k] = sorted(set(current[k]) | set(v))
                else:
                    current.setdefault(k, v)
        self.node_prov[key].add(source, version, lic)
        return True

    def add_edge(self, rel: str, start: tuple[str, str], end: tuple[str, str], props: dict[str, Any],
                 source: str, *, license: str | None = None, key_extra: str = "",
                 file: Path | None = None, line: int | None = None) -> bool:
        """Merge one relationship (one per source and fact where the type is per-source)."""
        version, lic = self._license(source, license)
        if not self._allowed(source, lic):
            self.excluded[f"rel:{rel}:{source}"] += 1
            return False
        spec = self.schema.relationships.get(rel)
        if spec is None or not spec.allows(start[0], end[0]):
            self.reject(file or "?", line, f"{rel} not allowed from {start[0]} to {end[0]}", source)
            return False
        if spec.undirected and end[1] < start[1] and start[0] == end[0]:
            start, end = end, start
        props = {k: v for k, v in props.items() if v is not None and v != ""}
        if file is not None:
            props["_file"], props["_line"] = self.rel_file(file), line
        key = (rel, start, end, source if spec.per_source else "", key_extra)
        if spec.per_source:
            props.update(source=source, source_version=version, license=lic)
        current = self.edges.get(key)
        if current is None:
            self.edges[key] = props
        else:
            for k, v in props.items():
                current.setdefault(k, v)
        self.edge_prov[key].add(source, version, lic)
        return True

    def drop_dangling(self) -> int:
        """Reject edges whose endpoints are not nodes of this build (after all adapters ran)."""
        dangling = [k for k in self.edges if k[1] not in self.nodes or k[2] not in self.nodes]
        for key in dangling:
            rel, start, end, source, _ = key
            missing = start if start not in self.nodes else end
            src = source or sorted(self.edge_prov[key].sources)[0]
            props = self.edges.pop(key)
            self.edge_prov.pop(key, None)
            self.reject(props.pop("_file", "?"), props.pop("_line", None),
                        f"{rel} edge endpoint {missing[0]} {missing[1]!r} does not exist", src)
        for props in self.edges.values():
            props.pop("_file", None)
            props.pop("_line", None)
        return len(dangling)

    def counts(self) -> dict[str, dict[str, int]]:
        nodes = Counter(label for label, _ in self.nodes)
        rels = Counter(key[0] for key in self.edges)
        return {"nodes": dict(sorted(nodes.items())), "relationships": dict(sorted(rels.items()))}
