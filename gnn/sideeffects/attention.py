"""A graph attention network for cold-start side effects, compared with the similarity models.

The graph: every query drug receives edges from its nearest reference (training) drugs, the union of each
similarity's k nearest, each edge carrying all six similarities as attributes. A node's input is its own
features (Morgan bits, targets, classes, ATC prefixes, categories, interaction partners; one linear map per
modality) and, for reference drugs only, their side-effect profile (a learned projection). A GATv2 layer
(PyTorch Geometric) attends over the neighbours with the edge similarities; the drug's embedding is scored
against learned side-effect embeddings plus a per-side-effect bias started at the popularity logit, and
the attention weights also pool the neighbours' profiles (an attention-weighted kNN share). A query drug
never has CAUSES edges in the graph: training queries are the training drugs themselves with their own
edge removed, and a random fifth of the reference drugs hide their profile in each epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from gnn.sideeffects.data import MODALITIES
from gnn.sideeffects.model import top_k


@dataclass
class GraphBatch:
    """Queries are nodes 0..q-1, reference drugs q..q+r-1; edges go reference → query."""

    feats: list[Any]  # per modality, a torch sparse (q + r) × features matrix
    labels: Any  # (q + r) × S dense: zeros for the queries
    edge_index: Any
    edge_attr: Any
    n_query: int


def _sparse(m: sparse.csr_matrix) -> Any:
    import torch

    c = m.tocoo()
    idx = torch.tensor(np.vstack([c.row, c.col]), dtype=torch.long)
    return torch.sparse_coo_tensor(idx, torch.tensor(c.data, dtype=torch.float32), c.shape,
                                   check_invariants=False).coalesce()


def graph(sims: dict[str, np.ndarray], mats: dict[str, sparse.csr_matrix], q_rows: np.ndarray,
          ref_rows: np.ndarray, y_ref: sparse.csr_matrix, k: int) -> GraphBatch:
    """The attention graph of some queries: `sims[m]` is query × reference (a query's own column zeroed)."""
    import torch

    mask = None
    for m in MODALITIES:
        w = top_k(sims[m], k).astype(bool)
        mask = w if mask is None else mask + w
    c = mask.tocoo()
    attr = np.stack([sims[m][c.row, c.col] for m in MODALITIES], axis=1)
    q = len(q_rows)
    rows = np.concatenate([q_rows, ref_rows])
    labels = np.vstack([np.zeros((q, y_ref.shape[1]), dtype=np.float32), y_ref.toarray().astype(np.float32)])
    return GraphBatch([_sparse(mats[m][rows]) for m in MODALITIES], torch.tensor(labels),
                      torch.tensor(np.vstack([c.col + q, c.row]), dtype=torch.long),
                      torch.tensor(attr, dtype=torch.float32), q)


def _net(dims: list[int], n_se: int, pop: np.ndarray, d: int, heads: int) -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as F
    from torch_geometric.nn import GATv2Conv

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.ModuleList(nn.Linear(n, d, bias=False) for n in dims)
            self.lab = nn.Linear(n_se, d, bias=False)
            self.conv = GATv2Conv(2 * d, d, heads=heads, edge_dim=len(dims), add_self_loops=False, concat=False)
            self.skip = nn.Linear(d, d)
            self.out = nn.Sequential(nn.ReLU(), nn.Linear(d, d))
            self.se = nn.Parameter(torch.randn(n_se, d) * 0.01)
            p = torch.tensor(np.clip(pop, 1e-4, 1 - 1e-4), dtype=torch.float32)
            self.bias = nn.Parameter(torch.logit(p))
            self.w_share = nn.Parameter(torch.tensor(1.0))

        def forward(self, g: GraphBatch, visible: Any) -> Any:
            f = sum(torch.sparse.mm(x, e.weight.T) for x, e in zip(g.feats, self.enc, strict=True))
            f = F.normalize(f, dim=1) * 3.0  # drugs with many features do not dominate
            lab = g.labels * visible[:, None]
            h = torch.cat([f, self.lab(lab)], dim=1)
            keep = visible[g.edge_index[0]] > 0  # a hidden reference sends nothing
            ei, ea = g.edge_index[:, keep], g.edge_attr[keep]
            z, (ei2, alpha) = self.conv(h, ei, ea, return_attention_weights=True)
            z = self.out(z + self.skip(f))[: g.n_query]
            n = h.shape[0]
            att = torch.sparse_coo_tensor(torch.stack([ei2[1], ei2[0]]), alpha.mean(dim=1), (n, n),
                                          check_invariants=False)
            share = torch.sparse.mm(att, lab)[: g.n_query]
            return z @ self.se.T + self.bias + self.w_share * torch.log(share + 1e-3)

    return Net()


@dataclass
class AttentionModel:
    """Fitted on training drugs; `epoch` (the validation-best checkpoint) and its validation curve kept."""

    k: int = 10
    dim: int = 64
    heads: int = 4
    epochs: int = 50
    every: int = 10
    lr: float = 5e-3
    hide: float = 0.2
    seed: int = 0
    curve: list[dict[str, float]] = field(default_factory=list)
    epoch: int = 0
    val_auprc: float = float("nan")
    net: Any = None

    def fit(self, train: GraphBatch, y_train: sparse.csr_matrix, val: GraphBatch,
            val_score: Callable[[np.ndarray], float], pop: np.ndarray, progress: bool = False) -> AttentionModel:
        """Adam on binary cross-entropy over every (training drug, side effect) pair; every `every` epochs
        the validation queries are scored and the best state kept (early stopping on validation AUPRC)."""
        import copy

        import torch
        from torch.nn import functional as F
        from tqdm import tqdm

        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.net = _net([x.shape[1] for x in train.feats], y_train.shape[1], pop, self.dim, self.heads)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=1e-5)
        target = torch.tensor(y_train.toarray(), dtype=torch.float32)
        n_ref = train.labels.shape[0] - train.n_query
        best, best_state = -1.0, None
        for ep in tqdm(range(1, self.epochs + 1), desc="attention GNN", disable=not progress, leave=False):
            self.net.train()
            vis = torch.cat([torch.zeros(train.n_query), torch.tensor(rng.random(n_ref) >= self.hide).float()])
            loss = F.binary_cross_entropy_with_logits(self.net(train, vis), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if ep % self.every == 0 or ep == self.epochs:
                ap = val_score(self.logits(val))
                self.curve.append({"epoch": ep, "loss": round(float(loss.detach()), 5), "val_auprc": round(ap, 4)})
                if ap > best:
                    best, best_state, self.epoch = ap, copy.deepcopy(self.net.state_dict()), ep
        self.net.load_state_dict(best_state)
        self.val_auprc = best
        return self

    def logits(self, g: GraphBatch) -> np.ndarray:
        import torch

        self.net.eval()
        vis = torch.cat([torch.zeros(g.n_query), torch.ones(g.labels.shape[0] - g.n_query)])
        with torch.no_grad():
            return self.net(g, vis).numpy().astype(np.float64)
