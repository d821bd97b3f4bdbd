"""A small ResNet-style CNN for 28×28 grey images: an L2-normalised embedding and a pneumonia logit."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters (saved beside the weights)."""

    widths: tuple[int, int, int] = (16, 32, 64)
    embedding_dim: int = 128
    dropout: float = 0.3

    def to_dict(self) -> dict:
        return {**asdict(self), "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(widths=tuple(d["widths"]), embedding_dim=int(d["embedding_dim"]), dropout=float(d["dropout"]))


class ResBlock(nn.Module):
    """Two 3×3 conv-BN layers with a (projected when needed) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.short(x))


class PneumoniaCNN(nn.Module):
    """Stem → three residual stages (28, 14, 7 px) → pooled features → embedding → logit."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        w1, w2, w3 = self.config.widths
        self.stem = nn.Sequential(nn.Conv2d(1, w1, 3, 1, 1, bias=False), nn.BatchNorm2d(w1), nn.ReLU())
        self.stages = nn.Sequential(ResBlock(w1, w1, 1), ResBlock(w1, w2, 2), ResBlock(w2, w3, 2))
        dim = self.config.embedding_dim
        self.project = nn.Sequential(nn.Linear(w3, dim), nn.BatchNorm1d(dim))
        self.dropout = nn.Dropout(self.config.dropout)
        self.head = nn.Linear(self.config.embedding_dim, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Un-normalised embedding of a batch of B×1×28×28 images scaled to about [-1, 1]."""
        h = self.stages(self.stem(x))
        return self.project(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(L2-normalised embedding B×D, pneumonia logit B)."""
        z = self.features(x)
        logit = self.head(self.dropout(F.relu(z))).squeeze(1)
        return F.normalize(z, dim=1), logit


def to_tensor(images, mean: float, std: float) -> torch.Tensor:
    """N×28×28 uint8 numpy images → N×1×28×28 float tensor, standardised."""
    t = torch.from_numpy(images).to(torch.float32).unsqueeze(1) / 255.0
    return (t - mean) / std
