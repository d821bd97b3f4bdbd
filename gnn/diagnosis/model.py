"""Attention over a patient's findings: token embeddings, a small transformer encoder, softmax over pathologies."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from gnn.diagnosis.vocab import Vocab


@dataclass
class ModelConfig:
    """Architecture and training settings (saved beside the weights)."""

    dim: int = 64
    heads: int = 4
    layers: int = 1
    dropout: float = 0.1
    epochs: int = 40
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-2
    max_drop: float = 0.6  # each sample drops U(0, max_drop) of its findings
    soft_mix: float = 0.7  # target = (1 - soft_mix) * one-hot(true) + soft_mix * reference differential
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class FindingsAttention(nn.Module):
    """Embed (evidence, value) tokens + age/sex, encode with self-attention, pool by attention, classify."""

    def __init__(self, n_tokens: int, n_bases: int, token_base: list[int], n_classes: int, cfg: ModelConfig):
        super().__init__()
        self.tok = nn.Embedding(n_tokens, cfg.dim, padding_idx=0)
        self.base = nn.Embedding(n_bases, cfg.dim)
        self.register_buffer("token_base", torch.tensor(token_base, dtype=torch.long), persistent=True)
        layer = nn.TransformerEncoderLayer(cfg.dim, cfg.heads, 2 * cfg.dim, cfg.dropout, batch_first=True,
                                           norm_first=True)
        # layers = 0: attention pooling over independently embedded tokens (a token-wise MLP, no self-attention)
        self.encoder = (nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False) if cfg.layers
                        else None)
        self.mlp = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, 2 * cfg.dim), nn.GELU(),
                                 nn.Linear(2 * cfg.dim, cfg.dim))
        self.pool = nn.Linear(cfg.dim, 1)
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, n_classes)

    def forward(self, ids: torch.Tensor, return_attention: bool = False):
        pad = ids == 0
        h = self.tok(ids) + self.base(self.token_base[ids])
        h = self.encoder(h, src_key_padding_mask=pad) if self.encoder is not None else h + self.mlp(h)
        a = self.pool(h).squeeze(-1).masked_fill(pad, -math.inf).softmax(-1)
        z = self.norm((a.unsqueeze(-1) * h).sum(1))
        logits = self.head(z)
        return (logits, a) if return_attention else logits


def build_model(vocab: Vocab, n_classes: int, cfg: ModelConfig) -> FindingsAttention:
    return FindingsAttention(len(vocab.tokens), len(vocab.bases), vocab.token_base, n_classes, cfg)


def pad_batch(seqs: list[list[int]]) -> torch.Tensor:
    out = torch.zeros((len(seqs), max(len(s) for s in seqs)), dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def _drop(seq: list[int], rate: float, rng: np.random.Generator) -> list[int]:
    """Keep the 3 context tokens (cls, sex, age); drop each finding with probability `rate`, keep ≥ 1."""
    head, body = seq[:3], seq[3:]
    if len(body) <= 1 or rate <= 0:
        return seq
    keep = rng.random(len(body)) >= rate
    if not keep.any():
        keep[rng.integers(len(body))] = True
    return head + [t for t, k in zip(body, keep, strict=True) if k]


def train_model(
    model: FindingsAttention,
    seqs: list[list[int]],
    targets: np.ndarray,
    cfg: ModelConfig,
    progress: bool = False,
) -> list[float]:
    """Train on token sequences with soft targets [N, C]; random evidence dropout per sample. Returns losses."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(seqs) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.1)
    y = torch.tensor(targets, dtype=torch.float32)
    losses = []
    model.train()
    for _ in tqdm(range(cfg.epochs), desc="train", disable=not progress, leave=False):
        order = rng.permutation(len(seqs))
        total = 0.0
        for start in range(0, len(seqs), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            rates = rng.uniform(0.0, cfg.max_drop, len(idx))
            ids = pad_batch([_drop(seqs[i], r, rng) for i, r in zip(idx, rates, strict=True)])
            logits = model(ids)
            loss = -(y[idx] * logits.log_softmax(-1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(seqs))
    model.eval()
    return losses


@torch.no_grad()
def predict_logits(model: FindingsAttention, seqs: list[list[int]], batch_size: int = 256) -> np.ndarray:
    model.eval()
    out = [model(pad_batch(seqs[i : i + batch_size])) for i in range(0, len(seqs), batch_size)]
    return torch.cat(out).numpy()
