"""Held-out TREATS split and the leak-free message-passing graph.

Val and test TREATS edges are removed from message passing in both directions (no forward edge, no
`rev_TREATS`); PALLIATES and NOT_INDICATED_FOR stay as features except for a held-out (drug, disease) pair,
whose other Drug→Disease relationships are removed too, so no held-out pair leaks through its own pair type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from kg.export import EdgeType, ExportedGraph

TREATS: EdgeType = ("Drug", "TREATS", "Disease")
PAIR_TYPES: tuple[EdgeType, ...] = (("Drug", "PALLIATES", "Disease"), ("Drug", "NOT_INDICATED_FOR", "Disease"))
DRUGBANK_ID = re.compile(r"^DB\d{5}$")


@dataclass
class TreatsSplit:
    """Row-index pairs (2×n) of TREATS edges per part and keep-masks for the message-passing graph."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    keep: dict[EdgeType, np.ndarray]
    seed: int

    def sizes(self) -> dict[str, int]:
        return {"train": int(self.train.shape[1]), "val": int(self.val.shape[1]), "test": int(self.test.shape[1])}


def pair_keys(ei: np.ndarray, n_dis: int) -> np.ndarray:
    """One int64 key per (drug row, disease row) pair."""
    return ei[0].astype(np.int64) * n_dis + ei[1].astype(np.int64)


def split_treats(graph: ExportedGraph, seed: int, val_frac: float = 0.1, test_frac: float = 0.1) -> TreatsSplit:
    """Random edge split of TREATS (seeded) and masks that keep val/test pairs out of message passing."""
    ei = graph.edges[TREATS]
    n = ei.shape[1]
    perm = np.random.default_rng(seed).permutation(n)
    n_test, n_val = max(1, round(n * test_frac)), max(1, round(n * val_frac))
    test, val, train = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    keep = {TREATS: np.zeros(n, dtype=bool)}
    keep[TREATS][train] = True
    n_dis = len(graph.nodes["Disease"])
    held = pair_keys(ei[:, np.concatenate([val, test])], n_dis)
    for et in PAIR_TYPES:
        if et in graph.edges:
            keep[et] = ~np.isin(pair_keys(graph.edges[et], n_dis), held)
    return TreatsSplit(train=ei[:, train], val=ei[:, val], test=ei[:, test], keep=keep, seed=seed)


def no_split(graph: ExportedGraph) -> TreatsSplit:
    """Every known TREATS edge visible (the graph used for deployment predictions)."""
    ei = graph.edges[TREATS]
    empty = np.zeros((2, 0), dtype=np.int64)
    return TreatsSplit(train=ei, val=empty, test=empty, keep={}, seed=-1)


def candidate_drugs(graph: ExportedGraph) -> np.ndarray:
    """Rows of the drugs that are ranked: those with a DrugBank id (DB + 5 digits)."""
    return np.array([i for i, d in enumerate(graph.nodes["Drug"]) if DRUGBANK_ID.match(d)], dtype=np.int64)


def candidate_diseases(graph: ExportedGraph, extra_ids: list[str] | tuple[str, ...] = ()) -> np.ndarray:
    """Rows of the ranked diseases: every disease with a TREATS edge plus `extra_ids` (the Hetionet diseases)."""
    pos = graph.position("Disease")
    rows = set(graph.edges[TREATS][1].tolist()) | {pos[d] for d in extra_ids if d in pos}
    return np.array(sorted(rows), dtype=np.int64)
