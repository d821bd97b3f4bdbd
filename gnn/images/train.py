"""Train the CNN: class-weighted loss, flip/shift/rotate augmentation, AdamW with a one-cycle schedule."""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from gnn.images.data import Split
from gnn.images.metrics import (
    NATURAL_NORMAL_SHARE,
    apply_platt,
    best_threshold,
    binary_metrics,
    fit_platt,
    prior_weights,
)
from gnn.images.model import ModelConfig, PneumoniaCNN, to_tensor


@dataclass
class TrainConfig:
    """Optimisation hyper-parameters (saved beside the weights)."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 5e-4
    max_shift_px: float = 2.0
    max_rotate_deg: float = 10.0
    seed: int = 0
    threads: int = 1
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        return d


@dataclass
class Trained:
    """A fitted model with its normalisation, calibration and decision threshold."""

    model: PneumoniaCNN
    mean: float
    std: float
    platt_a: float
    platt_b: float
    threshold: float
    config: TrainConfig
    history: list[dict]
    seconds: float


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def augment(x: torch.Tensor, gen: torch.Generator, cfg: TrainConfig) -> torch.Tensor:
    """Random horizontal flip, small rotation, scale and shift (one affine warp), brightness/contrast jitter."""
    b = x.shape[0]
    u = torch.rand(b, 5, generator=gen) * 2 - 1
    ang = u[:, 0] * math.radians(cfg.max_rotate_deg)
    scale = 1 + 0.08 * u[:, 1]
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    shift = cfg.max_shift_px * 2 / x.shape[-1]
    theta = torch.stack([torch.stack([cos * flip, -sin, u[:, 2] * shift], 1),
                         torch.stack([sin * flip, cos, u[:, 3] * shift], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    gain = 1 + 0.1 * torch.rand(b, 1, 1, 1, generator=gen)
    return out * gain + 0.1 * u[:, 4].view(b, 1, 1, 1)


@torch.no_grad()
def forward_all(model: PneumoniaCNN, images: np.ndarray, mean: float, std: float,
                batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(normalised embeddings N×D, raw logits N) in eval mode."""
    model.eval()
    embs, logits = [], []
    for i in range(0, len(images), batch_size):
        z, s = model(to_tensor(images[i:i + batch_size], mean, std))
        embs.append(z.numpy())
        logits.append(s.numpy())
    if not embs:
        return np.zeros((0, model.config.embedding_dim), np.float32), np.zeros(0, np.float32)
    return np.concatenate(embs), np.concatenate(logits)


def train_model(split: Split, cfg: TrainConfig, progress: bool = True) -> Trained:
    """Fit on split.train; calibrate (Platt, natural class mix) and pick the threshold on split.cal."""
    seed_everything(cfg.seed)
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    start = time.perf_counter()
    try:
        x, y = split.x_train, split.y_train
        mean = float(x.mean() / 255.0)
        std = float(x.std() / 255.0) or 1.0
        xt, yt = to_tensor(x, mean, std), torch.from_numpy(y.astype(np.float32))
        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        pos_weight = torch.tensor(n_neg / max(n_pos, 1))  # balances the two classes in the loss
        model = PneumoniaCNN(cfg.model)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps = cfg.epochs * math.ceil(len(y) / cfg.batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(steps, 1), pct_start=0.2)
        gen = torch.Generator().manual_seed(cfg.seed)
        history: list[dict] = []
        bar = tqdm(range(cfg.epochs), desc=f"train CNN (seed {cfg.seed})", unit="epoch", disable=not progress,
                   leave=False)
        for epoch in bar:
            model.train()
            order = torch.randperm(len(y), generator=gen)
            total = 0.0
            for i in range(0, len(y), cfg.batch_size):
                idx = order[i:i + cfg.batch_size]
                if len(idx) < 2:
                    continue  # BatchNorm needs two samples
                _, logit = model(augment(xt[idx], gen, cfg))
                loss = F.binary_cross_entropy_with_logits(logit, yt[idx], pos_weight=pos_weight)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            history.append({"epoch": epoch + 1, "loss": total / len(y)})
            bar.set_postfix(loss=f"{total / len(y):.4f}")
        _, cal_logits = forward_all(model, split.x_cal, mean, std)
        a, b = fit_platt(cal_logits, split.y_cal, prior_weights(split.y_cal, NATURAL_NORMAL_SHARE))
        threshold = best_threshold(apply_platt(cal_logits, a, b), split.y_cal)
        return Trained(model, mean, std, a, b, threshold, cfg, history, time.perf_counter() - start)
    finally:
        torch.set_num_threads(prev_threads)


def evaluate_trained(t: Trained, split: Split) -> dict:
    """Calibration-part and test-part metrics of a trained model at its chosen threshold."""
    out = {}
    for part in ("cal", "test"):
        _, logits = forward_all(t.model, getattr(split, f"x_{part}"), t.mean, t.std)
        out[part] = binary_metrics(apply_platt(logits, t.platt_a, t.platt_b), getattr(split, f"y_{part}"),
                                   t.threshold)
    return out
