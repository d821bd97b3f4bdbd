"""Neo4j → plain arrays: per-label id lists sorted by `id` (stable row numbers) and edge index arrays.

No torch here: the result is numpy and JSON, turned into PyG data by `gnn.data` or into a networkx
MultiDiGraph by `to_networkx`. The node index (label → sorted ids, plus the graph's build id) is saved
as JSON beside each model run so rows can be mapped back to graph ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
from neo4j import Driver

from kg.db import read
from kg.errors import ConfigError
from kg.schema import get_schema

EdgeType = tuple[str, str, str]

# The subgraph the drug-treats model passes messages over (the GO terms and the 5k Gene-Gene samples
# add little for Drug-Disease links and cost time).
TREATS_LABELS: tuple[str, ...] = ("Drug", "Disease", "Gene", "SideEffect", "Symptom", "PharmacologicClass", "Anatomy")
TREATS_EDGE_TYPES: tuple[EdgeType, ...] = (
    ("Drug", "TREATS", "Disease"),
    ("Drug", "PALLIATES", "Disease"),
    ("Drug", "NOT_INDICATED_FOR", "Disease"),
    ("Drug", "BINDS", "Gene"),
    ("Drug", "CAUSES", "SideEffect"),
    ("Drug", "RESEMBLES", "Drug"),
    ("Drug", "INTERACTS_WITH", "Drug"),
    ("Drug", "UPREGULATES", "Gene"),
    ("Drug", "DOWNREGULATES", "Gene"),
    ("PharmacologicClass", "INCLUDES", "Drug"),
    ("Disease", "ASSOCIATES", "Gene"),
    ("Disease", "PRESENTS", "Symptom"),
    ("Disease", "LOCALIZES", "Anatomy"),
    ("Disease", "RESEMBLES", "Disease"),
    ("Disease", "IS_A", "Disease"),
    ("Disease", "UPREGULATES", "Gene"),
    ("Disease", "DOWNREGULATES", "Gene"),
    ("Anatomy", "EXPRESSES", "Gene"),
)


@dataclass
class ExportedGraph:
    """Node ids per label (sorted, row i = ids[i]) and a 2×E int64 edge index per (src, TYPE, dst)."""

    nodes: dict[str, list[str]]
    edges: dict[EdgeType, np.ndarray]
    build_id: str | None = None
    features: dict[str, np.ndarray] = field(default_factory=dict)
    _pos: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    def position(self, label: str) -> dict[str, int]:
        """id → row number for one label (cached)."""
        if label not in self._pos:
            self._pos[label] = {node_id: i for i, node_id in enumerate(self.nodes[label])}
        return self._pos[label]

    def index(self) -> dict:
        """The stable node index as a JSON-ready dict."""
        return {"build_id": self.build_id, "nodes": self.nodes}

    def num_edges(self) -> dict[str, int]:
        return {"-".join(et): int(ei.shape[1]) for et, ei in self.edges.items()}


def current_build_id(driver: Driver) -> str | None:
    """The id of the most recent finished Build node (None on a graph with no build record)."""
    rows = read(driver, "MATCH (b:Build) RETURN b.id AS id ORDER BY coalesce(b.finished, b.started) DESC LIMIT 1")
    return rows[0]["id"] if rows else None


def export_nodes(driver: Driver, label: str) -> list[str]:
    """All ids of one label, sorted (the row order every model of this graph uses)."""
    lab = get_schema().check_label(label)
    rows = read(driver, f"MATCH (n:{lab}) RETURN collect(n.id) AS ids")
    return sorted(str(i) for i in rows[0]["ids"])


def export_edges(driver: Driver, edge_type: EdgeType, pos_src: dict[str, int], pos_dst: dict[str, int]) -> np.ndarray:
    """Distinct (src row, dst row) pairs of one relationship type, sorted; 2×E int64."""
    schema = get_schema()
    src, rel, dst = schema.check_label(edge_type[0]), schema.check_rel(edge_type[1]), schema.check_label(edge_type[2])
    # one row of two collected lists: far faster over Bolt than a row per relationship
    row = read(driver, f"MATCH (a:{src})-[:{rel}]->(b:{dst}) RETURN collect(a.id) AS s, collect(b.id) AS t")[0]
    pairs = {(pos_src[s], pos_dst[t]) for s, t in zip(row["s"], row["t"], strict=True)
             if s in pos_src and t in pos_dst}
    if not pairs:
        return np.zeros((2, 0), dtype=np.int64)
    return np.array(sorted(pairs), dtype=np.int64).T.copy()


TEXT_PROPERTIES = ("text_embedding", "model_embedding")  # full text (search/display); indication-free (models)


def export_text_embeddings(driver: Driver, label: str, ids: Sequence[str],
                           prop: str = "text_embedding") -> np.ndarray | None:
    """Rows of the vector property `prop` in id order, zeros where missing; None when no node of the label has
    one."""
    lab = get_schema().check_label(label)
    if prop not in TEXT_PROPERTIES:
        raise ConfigError(f"text embedding property {prop!r} is not one of {', '.join(TEXT_PROPERTIES)}")
    rows = read(driver, f"MATCH (n:{lab}) WHERE n.{prop} IS NOT NULL RETURN n.id AS id, n.{prop} AS e")
    if not rows:
        return None
    dim = len(rows[0]["e"])
    out = np.zeros((len(ids), dim), dtype=np.float32)
    pos = {node_id: i for i, node_id in enumerate(ids)}
    for r in rows:
        if r["id"] in pos and len(r["e"]) == dim:
            out[pos[r["id"]]] = np.asarray(r["e"], dtype=np.float32)
    return out


def export_graph(driver: Driver, labels: Iterable[str] = TREATS_LABELS,
                 edge_types: Iterable[EdgeType] = TREATS_EDGE_TYPES, *, text_embeddings: bool = True,
                 text_property: str = "text_embedding") -> ExportedGraph:
    """Export a typed subgraph: sorted ids per label, deduplicated edge index per type, build id and (with
    `text_embeddings`) the `text_property` vectors as node features."""
    labels = list(labels)
    g = ExportedGraph(nodes={lab: export_nodes(driver, lab) for lab in labels}, edges={},
                      build_id=current_build_id(driver))
    for et in edge_types:
        if et[0] not in g.nodes or et[2] not in g.nodes:
            raise ConfigError(f"edge type {et} needs labels {et[0]} and {et[2]} in the export")
        g.edges[tuple(et)] = export_edges(driver, tuple(et), g.position(et[0]), g.position(et[2]))
    if text_embeddings:
        for lab in labels:
            emb = export_text_embeddings(driver, lab, g.nodes[lab], text_property)
            if emb is not None:
                g.features[lab] = emb
    return g


def save_index(graph: ExportedGraph, path: Path) -> Path:
    """Write the node index (build id + label → sorted ids) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(graph.index(), sort_keys=True))
    return path


def load_index(path: Path) -> dict:
    """Read a node index written by `save_index`; a clear error if the file is missing or malformed."""
    if not path.is_file():
        raise ConfigError(f"no node index at {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data.get("nodes"), dict):
        raise ConfigError(f"{path}: field 'nodes' is missing or not an object")
    return data


def save_arrays(graph: ExportedGraph, folder: Path) -> Path:
    """Write index.json and edges.npz (one array per edge type, key `src|TYPE|dst`)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_index(graph, folder / "index.json")
    np.savez_compressed(folder / "edges.npz", **{"|".join(et): ei for et, ei in graph.edges.items()})
    return folder


def load_arrays(folder: Path) -> ExportedGraph:
    """Read back what `save_arrays` wrote."""
    index = load_index(folder / "index.json")
    with np.load(folder / "edges.npz") as z:
        edges = {tuple(k.split("|")): z[k] for k in z.files}
    return ExportedGraph(nodes=index["nodes"], edges=edges, build_id=index.get("build_id"))  # type: ignore[arg-type]


def to_networkx(graph: ExportedGraph) -> nx.MultiDiGraph:
    """A MultiDiGraph with nodes `(label, id)` and edges keyed by relationship type."""
    g = nx.MultiDiGraph(build_id=graph.build_id)
    for label, ids in graph.nodes.items():
        g.add_nodes_from(((label, i) for i in ids), label=label)
    for (src, rel, dst), ei in graph.edges.items():
        s_ids, d_ids = graph.nodes[src], graph.nodes[dst]
        g.add_edges_from(((src, s_ids[a]), (dst, d_ids[b]), rel) for a, b in ei.T.tolist())
    return g
