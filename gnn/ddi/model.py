"""A pair MLP: h1 = relu(W_a·x_a + W_b·x_b + W_t·t + b) -> h2 -> logits, trained with torch, served with numpy.

Because the first layer is a sum of per-drug terms, prediction precomputes W_a·x and W_b·x for every drug once
(an N x h1 table); a pair then costs two row lookups, an add and two small matrix products. `symmetric` shares
W_a = W_b (unordered pairs: severity, any-interaction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# a batch: (x_a, x_b, pair features or None) plus, for a net with per-drug embeddings, the drug indices (a, b)
Batch = Callable[[np.ndarray, bool], tuple]


@dataclass
class NetSpec:
    d_in: int
    d_pair: int
    out: int
    h1: int = 512
    h2: int = 256
    dropout: float = 0.3
    symmetric: bool = False
    n_drugs: int = 0  # > 0: a learned embedding per drug and role, added to the first layer (transductive)
    emb_dropout: float = 0.0  # training: drop a drug's whole embedding with this probability (new drugs have none)
    bilinear: bool = False  # add (U·x_a) * (V·x_b) to the first layer: a multiplicative pair term, still per drug


def make_net(spec: NetSpec):
    import torch
    from torch import nn

    class PairNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wa = nn.Linear(spec.d_in, spec.h1)
            self.wb = self.wa if spec.symmetric else nn.Linear(spec.d_in, spec.h1, bias=False)
            self.wt = nn.Linear(spec.d_pair, spec.h1, bias=False) if spec.d_pair else None
            if spec.n_drugs:  # zero-initialised: a drug never seen in training adds nothing
                self.ea = nn.Embedding(spec.n_drugs, spec.h1)
                self.eb = nn.Embedding(spec.n_drugs, spec.h1)
                nn.init.zeros_(self.ea.weight)
                nn.init.zeros_(self.eb.weight)
            if spec.bilinear:
                self.ua = nn.Linear(spec.d_in, spec.h1)
                self.ub = nn.Linear(spec.d_in, spec.h1)
            self.head = nn.Sequential(nn.ReLU(), nn.Dropout(spec.dropout), nn.Linear(spec.h1, spec.h2), nn.ReLU(),
                                      nn.Dropout(spec.dropout), nn.Linear(spec.h2, spec.out))

        def forward(self, xa: torch.Tensor, xb: torch.Tensor, t: torch.Tensor | None,
                    ia: torch.Tensor | None = None, ib: torch.Tensor | None = None) -> torch.Tensor:
            h = self.wa(xa) + (self.wb(xb) if not spec.symmetric else self.wa(xb))
            if self.wt is not None and t is not None:
                h = h + self.wt(t)
            if spec.n_drugs and ia is not None and ib is not None:
                ea, eb = self.ea(ia), self.eb(ib)
                if self.training and spec.emb_dropout:
                    keep = 1.0 - spec.emb_dropout  # no rescaling: at prediction a new drug's embedding is 0
                    ea = ea * (torch.rand(len(ia), 1) < keep)
                    eb = eb * (torch.rand(len(ib), 1) < keep)
                h = h + ea + eb
            if spec.bilinear:
                h = h + self.ua(xa) * self.ub(xb)
            return self.head(h)

    return PairNet()


def fit(spec: NetSpec, batch: Batch, y_train: np.ndarray, val_idx: tuple[Batch, np.ndarray] | None, *,
        epochs: int, lr: float, batch_size: int, seed: int, weight_decay: float = 1e-5,
        class_weight: np.ndarray | None = None, progress: bool = False, desc: str = "ddi", patience: int = 2):
    """Train with AdamW and cross-entropy (BCE when out == 1); keep the epoch with the best validation loss and
    stop once `patience` epochs in a row did not improve it (the drug split's loss turns up early)."""
    import torch
    from torch.nn import functional as F
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = make_net(spec)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * (len(y_train) // batch_size + 1))
    cw = torch.tensor(class_weight, dtype=torch.float32) if class_weight is not None else None

    def loss_of(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if spec.out == 1:
            return F.binary_cross_entropy_with_logits(logits.squeeze(1), y.float())
        return F.cross_entropy(logits, y, weight=cw)

    best, best_state, history = float("inf"), None, []
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for _ in bar:
        net.train()
        order = rng.permutation(len(y_train))
        total = 0.0
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            logits = _forward(net, batch(idx, True))
            loss = loss_of(logits, torch.from_numpy(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if val_idx is not None:
            vbatch, vy = val_idx
            vl = float(loss_of(torch.from_numpy(predict_logits(net, vbatch, len(vy))), torch.from_numpy(vy)))
            history.append(vl)
            bar.set_postfix(train=f"{total / len(y_train):.3f}", val=f"{vl:.3f}")
            if vl < best:
                best, best_state = vl, {k: v.clone() for k, v in net.state_dict().items()}
            elif len(history) - 1 - int(np.argmin(history)) >= patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return net, history


def _forward(net, b: tuple):
    import torch

    xa, xb, t = b[:3]
    ids = [torch.from_numpy(np.asarray(i, np.int64)) for i in b[3:5]] if len(b) >= 5 else [None, None]
    return net(torch.from_numpy(xa), torch.from_numpy(xb), None if t is None else torch.from_numpy(t), *ids)


def predict_logits(net, batch: Batch, n: int, chunk: int = 8192) -> np.ndarray:
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for s in range(0, n, chunk):
            idx = np.arange(s, min(n, s + chunk))
            out.append(_forward(net, batch(idx, False)).numpy())
    net.train()
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def export(net, spec: NetSpec, drug_x: np.ndarray) -> dict[str, np.ndarray]:
    """numpy weights with the first layer precomputed per drug (pa, pb: N x h1)."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    wa, ba = sd["wa.weight"], sd["wa.bias"]
    wb = wa if spec.symmetric else sd["wb.weight"]
    pa, pb = drug_x @ wa.T + ba, drug_x @ wb.T
    if spec.n_drugs:  # the embeddings fold into the per-drug tables: serving cost unchanged
        pa, pb = pa + sd["ea.weight"], pb + sd["eb.weight"]
    out = {"pa": pa, "pb": pb, "w2": sd["head.2.weight"].T.copy(),
           "b2": sd["head.2.bias"], "w3": sd["head.5.weight"].T.copy(), "b3": sd["head.5.bias"]}
    if spec.d_pair:
        out["wt"] = sd["wt.weight"].T.copy()
    if spec.bilinear:
        out["qa"] = drug_x @ sd["ua.weight"].T + sd["ua.bias"]
        out["qb"] = drug_x @ sd["ub.weight"].T + sd["ub.bias"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def np_logits(w: dict[str, np.ndarray], a: np.ndarray, b: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
    """Logits for drug-index arrays a, b (and pair features t) from exported weights."""
    h = w["pa"][a] + w["pb"][b]
    if "qa" in w:
        h += w["qa"][a] * w["qb"][b]
    if t is not None and "wt" in w:
        h += t.astype(np.float32) @ w["wt"]
    np.maximum(h, 0, out=h)
    h = h @ w["w2"]
    h += w["b2"]
    np.maximum(h, 0, out=h)
    out = h @ w["w3"]
    out += w["b3"]
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
