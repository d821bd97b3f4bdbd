"""Exported graph (kg.export) → PyG HeteroData, with a reverse edge type `rev_TYPE` for every type."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import HeteroData

from kg.export import EdgeType, ExportedGraph


def reverse_type(edge_type: EdgeType) -> EdgeType:
    """('Drug', 'TREATS', 'Disease') → ('Disease', 'rev_TREATS', 'Drug')."""
    src, rel, dst = edge_type
    return (dst, f"rev_{rel}", src)


def to_hetero_data(graph: ExportedGraph, *, add_reverse: bool = True,
                   drop: dict[EdgeType, np.ndarray] | None = None) -> HeteroData:
    """HeteroData with `num_nodes` (and `x` where text embeddings exist) per label and an edge index per type.

    `drop` maps an edge type to a boolean keep-mask over its edges (False = left out of this graph, and of
    its reverse): this is how held-out links are kept out of message passing in both directions.
    """
    data = HeteroData()
    for label, ids in graph.nodes.items():
        data[label].num_nodes = len(ids)
        if label in graph.features:
            data[label].x = torch.from_numpy(np.ascontiguousarray(graph.features[label], dtype=np.float32))
    for et, ei in graph.edges.items():
        keep = drop.get(et) if drop else None
        arr = ei if keep is None else ei[:, keep]
        index = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.int64))
        data[et].edge_index = index
        if add_reverse:
            data[reverse_type(et)].edge_index = index.flip(0)
    return data
