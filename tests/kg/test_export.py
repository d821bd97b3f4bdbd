"""kg.export: sorted, stable node index and deduplicated edge arrays from the real graph; networkx view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kg.errors import ConfigError
from kg.export import ExportedGraph, export_graph, load_arrays, load_index, save_arrays, to_networkx

LABELS = ("Drug", "Disease", "PharmacologicClass")
TYPES = (("Drug", "TREATS", "Disease"), ("Drug", "PALLIATES", "Disease"), ("PharmacologicClass", "INCLUDES", "Drug"))

def test_export_is_sorted_stable_and_round_trips(built_graph: object, driver, tmp_path: Path) -> None:
    from kg.db import read

    a = export_graph(driver, LABELS, TYPES, text_embeddings=False)
    b = export_graph(driver, LABELS, TYPES, text_embeddings=False)
    assert a.index() == b.index() and a.build_id and a.build_id == b.build_id
    for lab in LABELS:
        assert a.nodes[lab] == sorted(a.nodes[lab]) and len(set(a.nodes[lab])) == len(a.nodes[lab])
    n_drugs = read(driver, "MATCH (d:Drug) RETURN count(d) AS n")[0]["n"]
    assert len(a.nodes["Drug"]) == n_drugs > 1000
    treats = ("Drug", "TREATS", "Disease")
    n_pairs = read(driver, "MATCH (a:Drug)-[:TREATS]->(b:Disease) RETURN count(DISTINCT [a.id, b.id]) AS n")[0]["n"]
    assert a.edges[treats].shape == (2, n_pairs)
    assert all(np.array_equal(a.edges[t], b.edges[t]) for t in TYPES)
    d, x = a.edges[treats][:, 0]
    pair = read(driver, "MATCH (a:Drug {id: $d})-[:TREATS]->(b:Disease {id: $x}) RETURN count(*) AS n",
                d=a.nodes["Drug"][d], x=a.nodes["Disease"][x])
    assert pair[0]["n"] >= 1
    save_arrays(a, tmp_path / "exp")
    c = load_arrays(tmp_path / "exp")
    assert c.index() == a.index() and all(np.array_equal(c.edges[t], a.edges[t]) for t in TYPES)


def test_networkx_view_counts() -> None:
    g = ExportedGraph(nodes={"Drug": ["DB1", "DB2"], "Disease": ["DOID:1"]},
                      edges={("Drug", "TREATS", "Disease"): np.array([[0, 1], [0, 0]])}, build_id="b1")
    nxg = to_networkx(g)
    assert nxg.number_of_nodes() == 3 and nxg.number_of_edges() == 2
    assert nxg.has_edge(("Drug", "DB2"), ("Disease", "DOID:1"), key="TREATS") and nxg.graph["build_id"] == "b1"


def test_load_index_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "index.json"
    bad.write_text('{"nodes": {\n"Drug": [1,]}}')
    with pytest.raises(ConfigError, match=r"index.json: line 2"):
        load_index(bad)
    bad.write_text('{"build_id": "x"}')
    with pytest.raises(ConfigError, match="'nodes'"):
        load_index(bad)
