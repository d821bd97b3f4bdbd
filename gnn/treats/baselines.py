"""Baselines measured in the same run: the TREATS degree prior and DistMult on the same training edges."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from gnn.treats.split import TREATS, TreatsSplit
from kg.export import ExportedGraph


@dataclass
class DegreePrior:
    """score = (drug's TREATS degree + 1) × (disease's TREATS degree + 1), degrees from training edges."""

    deg_drug: np.ndarray
    deg_dis: np.ndarray

    @classmethod
    def fit(cls, graph: ExportedGraph, train: np.ndarray) -> DegreePrior:
        return cls(np.bincount(train[0], minlength=len(graph.nodes["Drug"])).astype(np.float64),
                   np.bincount(train[1], minlength=len(graph.nodes["Disease"])).astype(np.float64))

    def pairs(self, drugs: np.ndarray, diseases: np.ndarray) -> np.ndarray:
        return (self.deg_drug[drugs] + 1) * (self.deg_dis[diseases] + 1)

    def matrix(self, diseases: np.ndarray, cand_drugs: np.ndarray) -> np.ndarray:
        return np.outer(self.deg_dis[diseases] + 1, self.deg_drug[cand_drugs] + 1)


@dataclass
class DistMultModel:
    """Trained DistMult embeddings: score = Σ e_drug · r_TREATS · e_disease."""

    drug: np.ndarray
    disease: np.ndarray
    rel: np.ndarray
    seconds: float

    def pairs(self, drugs: np.ndarray, diseases: np.ndarray) -> np.ndarray:
        return (self.drug[drugs] * self.rel * self.disease[diseases]).sum(-1)

    def matrix(self, diseases: np.ndarray, cand_drugs: np.ndarray) -> np.ndarray:
        return (self.disease[diseases] * self.rel) @ self.drug[cand_drugs].T


def train_distmult(graph: ExportedGraph, split: TreatsSplit, seed: int, dim: int = 64, epochs: int = 8,
                   batch: int = 8192, treats_repeat: int = 40, lr: float = 0.01) -> DistMultModel:
    """DistMult over every exported relation (message-passing edges + training TREATS, TREATS repeated so
    it is not drowned by the 300k interactions), one corrupted tail per triple, BCE loss."""
    import torch  # lazily: predict and the API load DistMult arrays without torch
    from torch import nn

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    labels = list(graph.nodes)
    offset = dict(zip(labels, np.cumsum([0] + [len(graph.nodes[lab]) for lab in labels])[:-1], strict=True))
    triples, tail_ranges = [], []
    rel_ids = {et: i for i, et in enumerate(graph.edges)}
    for et, ei in graph.edges.items():
        if et == TREATS:
            ei = np.tile(split.train, treats_repeat)
        elif et in split.keep:
            ei = ei[:, split.keep[et]]
        if ei.shape[1] == 0:
            continue
        h, t = ei[0] + offset[et[0]], ei[1] + offset[et[2]]
        triples.append(np.stack([h, np.full_like(h, rel_ids[et]), t]))
        tail_ranges.append(np.tile([[offset[et[2]]], [len(graph.nodes[et[2]])]], (1, len(h))))
    tr = torch.from_numpy(np.concatenate(triples, axis=1))
    rng_t = torch.from_numpy(np.concatenate(tail_ranges, axis=1))
    n_total = int(sum(len(v) for v in graph.nodes.values()))
    ent, rel = nn.Embedding(n_total, dim), nn.Embedding(len(rel_ids), dim)
    nn.init.normal_(ent.weight, std=0.1)
    nn.init.normal_(rel.weight, mean=1.0, std=0.1)
    opt = torch.optim.Adam([*ent.parameters(), *rel.parameters()], lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(tr.shape[1]))
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            h, r, t = tr[0, idx], tr[1, idx], tr[2, idx]
            t_neg = rng_t[0, idx] + (torch.rand(len(idx)) * rng_t[1, idx]).long()
            eh, er = ent(h), rel(r)
            pos, neg = (eh * er * ent(t)).sum(-1), (eh * er * ent(t_neg)).sum(-1)
            loss = loss_fn(torch.cat([pos, neg]), torch.cat([torch.ones_like(pos), torch.zeros_like(neg)]))
            loss = loss + 1e-5 * (eh.pow(2).sum() + ent(t).pow(2).sum()) / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
    w = ent.weight.detach().numpy()
    return DistMultModel(drug=w[offset["Drug"]:offset["Drug"] + len(graph.nodes["Drug"])],
                         disease=w[offset["Disease"]:offset["Disease"] + len(graph.nodes["Disease"])],
                         rel=rel.weight.detach().numpy()[rel_ids[TREATS]], seconds=time.perf_counter() - t0)
