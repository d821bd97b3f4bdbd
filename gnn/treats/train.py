"""Train the TREATS GNN: each epoch hides a random part of the training TREATS edges from message passing
and learns to score exactly those against sampled negative drugs and diseases (so training sees the same
situation as evaluation: a link absent from the graph). Model selection by validation MRR."""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from gnn.data import reverse_type, to_hetero_data
from gnn.treats.features import FEATURE_EDGE_TYPES, drug_features
from gnn.treats.model import DISEASE, DRUG, ModelConfig, TreatsGNN
from gnn.treats.split import TREATS, TreatsSplit
from kg.export import ExportedGraph


@dataclass
class TrainConfig:
    epochs: int = 150
    lr: float = 0.01
    weight_decay: float = 0.0
    hide_frac: float = 0.25
    neg_per_pos: int = 16
    eval_every: int = 5
    patience: int = 6
    seed: int = 0
    threads: int = 2
    feature_dim: int = 32
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        kw = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "model"}
        return cls(**kw, model=ModelConfig.from_dict(d.get("model", {})))


@dataclass
class TrainedGNN:
    model: TreatsGNN
    config: TrainConfig
    history: list[dict]
    best_epoch: int
    seconds: float


class GraphInputs:
    """Message-passing tensors built once; TREATS edges swapped in per step."""

    def __init__(self, graph: ExportedGraph, split: TreatsSplit, feature_dim: int = 32) -> None:
        mp = ExportedGraph(nodes=graph.nodes, features=graph.features, build_id=graph.build_id,
                           edges={et: ei for et, ei in graph.edges.items() if et not in FEATURE_EDGE_TYPES})
        data = to_hetero_data(mp, drop=split.keep)
        self.metadata = data.metadata()
        self.num_nodes = {t: int(data[t].num_nodes) for t in data.node_types}
        self.x = {t: data[t].x for t in data.node_types if "x" in data[t]}
        feats = drug_features(graph, feature_dim) if feature_dim else None
        if feats is not None:
            f = torch.from_numpy(feats)
            self.x[DRUG] = torch.cat([self.x[DRUG], f], 1) if DRUG in self.x else f
        self.edges: dict = {et: data[et].edge_index for et in data.edge_types}
        self.n_drug, self.n_dis = self.num_nodes[DRUG], self.num_nodes[DISEASE]

    def with_treats(self, visible: np.ndarray) -> tuple[dict, Tensor, Tensor]:
        """Edge dict with `visible` as the only TREATS edges (both directions) and the TREATS degrees."""
        v = torch.from_numpy(np.ascontiguousarray(visible, dtype=np.int64))
        edges = dict(self.edges)
        edges[TREATS], edges[reverse_type(TREATS)] = v, v.flip(0)
        deg_drug = torch.bincount(v[0], minlength=self.n_drug).float()
        deg_dis = torch.bincount(v[1], minlength=self.n_dis).float()
        return edges, deg_drug, deg_dis


def build_model(inputs: GraphInputs, config: ModelConfig) -> TreatsGNN:
    return TreatsGNN(inputs.metadata, inputs.num_nodes, {t: x.shape[1] for t, x in inputs.x.items()}, config)


def embed(model: TreatsGNN, inputs: GraphInputs, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                                np.ndarray]:
    """Drug and disease representations and TREATS degrees with `visible` edges in message passing."""
    model.eval()
    edges, deg_drug, deg_dis = inputs.with_treats(visible)
    with torch.no_grad():
        h = model.encode(edges, inputs.x)
    return h[DRUG].numpy(), h[DISEASE].numpy(), deg_drug.numpy(), deg_dis.numpy()


def train_gnn(graph: ExportedGraph, split: TreatsSplit, cand_drugs: np.ndarray, cand_dis: np.ndarray,
              config: TrainConfig, validate=None, progress: bool = True) -> TrainedGNN:
    """Train with per-epoch edge hiding; `validate(model, inputs) -> float` (higher is better) picks the epoch."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    t0 = time.perf_counter()
    inputs = GraphInputs(graph, split, config.feature_dim)
    model = build_model(inputs, config.model)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    c_drugs, c_dis = torch.from_numpy(cand_drugs), torch.from_numpy(cand_dis)
    train = split.train
    history: list[dict] = []
    best, best_state, best_epoch, bad = -np.inf, copy.deepcopy(model.state_dict()), 0, 0
    bar = tqdm(range(1, config.epochs + 1), desc="train treats", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        perm = rng.permutation(train.shape[1])
        n_hide = max(1, round(config.hide_frac * len(perm)))
        hidden, visible = train[:, perm[:n_hide]], train[:, perm[n_hide:]]
        edges, deg_drug, deg_dis = inputs.with_treats(visible)
        h = model.encode(edges, inputs.x)
        d, x = torch.from_numpy(hidden[0]), torch.from_numpy(hidden[1])
        k = config.neg_per_pos
        # half uniform over candidate drugs, half over drugs that treat something (harder negatives)
        hard = torch.from_numpy(np.unique(visible[0]))
        neg_d = torch.cat([c_drugs[torch.randint(len(c_drugs), (len(d) * k - len(d) * k // 2,))],
                           hard[torch.randint(len(hard), (len(d) * k // 2,))]])
        neg_x = c_dis[torch.randint(len(c_dis), (len(d) * k,))]
        dd, xx = d.repeat_interleave(k), x.repeat_interleave(k)
        pos = model.decode(h[DRUG][d], h[DISEASE][x], deg_drug[d], deg_dis[x])
        neg1 = model.decode(h[DRUG][neg_d], h[DISEASE][xx], deg_drug[neg_d], deg_dis[xx])
        neg2 = model.decode(h[DRUG][dd], h[DISEASE][neg_x], deg_drug[dd], deg_dis[neg_x])
        neg = torch.cat([neg1, neg2])
        loss = loss_fn(pos, torch.ones_like(pos)) + loss_fn(neg, torch.zeros_like(neg))
        opt.zero_grad()
        loss.backward()
        opt.step()
        row = {"epoch": epoch, "loss": round(float(loss.detach()), 5)}
        if validate is not None and (epoch % config.eval_every == 0 or epoch == config.epochs):
            score = float(validate(model, inputs))
            row["val"] = round(score, 5)
            if score > best:
                best, best_state, best_epoch, bad = score, copy.deepcopy(model.state_dict()), epoch, 0
            else:
                bad += 1
            bar.set_postfix(loss=row["loss"], val=row["val"], best=round(best, 4))
            if bad >= config.patience:
                history.append(row)
                break
        history.append(row)
    if validate is None:
        best_state, best_epoch = copy.deepcopy(model.state_dict()), len(history)
    model.load_state_dict(best_state)
    model.eval()
    return TrainedGNN(model=model, config=config, history=history, best_epoch=best_epoch,
                      seconds=time.perf_counter() - t0)
