"""Dense drug features from the two big relations (side effects, drug-drug interactions): a seeded truncated
SVD of each adjacency matrix. They carry that information into the model without 860k edges in message
passing (which cost far more time than they returned)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from kg.export import EdgeType, ExportedGraph

FEATURE_EDGE_TYPES: tuple[EdgeType, ...] = (("Drug", "CAUSES", "SideEffect"), ("Drug", "INTERACTS_WITH", "Drug"))


def svd_features(graph: ExportedGraph, edge_type: EdgeType, dim: int, seed: int = 0) -> np.ndarray:
    """Row-normalised rank-`dim` SVD of the src×dst adjacency (symmetrised when src == dst)."""
    src, _, dst = edge_type
    n_src, n_dst = len(graph.nodes[src]), len(graph.nodes[dst])
    ei = graph.edges[edge_type]
    a = sp.coo_matrix((np.ones(ei.shape[1], dtype=np.float32), (ei[0], ei[1])), shape=(n_src, n_dst)).tocsr()
    if src == dst:
        a = ((a + a.T) > 0).astype(np.float32)
    a.data[:] = 1.0
    # tf-idf-like damping of very common columns, then a log degree column
    idf = np.log1p(n_src / (1.0 + np.asarray(a.sum(0)).ravel())).astype(np.float32)
    a = a.multiply(idf[None, :]).tocsr()
    k = min(dim, min(a.shape) - 1)
    z = TruncatedSVD(n_components=k, random_state=seed).fit_transform(a).astype(np.float32)
    norm = np.linalg.norm(z, axis=1, keepdims=True)
    z = np.divide(z, norm, out=np.zeros_like(z), where=norm > 0)
    deg = np.log1p(np.asarray((a > 0).sum(1)).ravel()).astype(np.float32)[:, None]
    return np.hstack([z, deg / max(float(deg.max()), 1.0)])


def drug_features(graph: ExportedGraph, dim: int = 32, seed: int = 0) -> np.ndarray | None:
    """SVD features of every FEATURE_EDGE_TYPES relation present, concatenated (None if none is)."""
    parts = [svd_features(graph, et, dim, seed) for et in FEATURE_EDGE_TYPES
             if et in graph.edges and graph.edges[et].shape[1] > dim]
    return np.hstack(parts) if parts else None
