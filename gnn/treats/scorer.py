"""numpy scoring from saved embeddings (what `predict`, evaluation and the API use; no torch needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class EmbeddingScorer:
    """logit(drug, disease) = Σ h_drug·rel·h_disease + w0·log1p(deg_drug) + w1·log1p(deg_disease) + bias."""

    drug: np.ndarray
    disease: np.ndarray
    deg_drug: np.ndarray
    deg_dis: np.ndarray
    rel: np.ndarray
    deg_w: np.ndarray
    bias: float

    def pairs(self, drugs: np.ndarray, diseases: np.ndarray) -> np.ndarray:
        return ((self.drug[drugs] * self.rel * self.disease[diseases]).sum(-1)
                + self.deg_w[0] * np.log1p(self.deg_drug[drugs]) + self.deg_w[1] * np.log1p(self.deg_dis[diseases])
                + self.bias)

    def matrix(self, diseases: np.ndarray, cand_drugs: np.ndarray) -> np.ndarray:
        """len(diseases) × len(cand_drugs) logits."""
        m = (self.disease[diseases] * self.rel) @ self.drug[cand_drugs].T
        m += self.deg_w[0] * np.log1p(self.deg_drug[cand_drugs])[None, :]
        m += (self.deg_w[1] * np.log1p(self.deg_dis[diseases]) + self.bias)[:, None]
        return m

    def save(self, path: Path) -> Path:
        np.savez_compressed(path, drug=self.drug, disease=self.disease, deg_drug=self.deg_drug, deg_dis=self.deg_dis,
                            rel=self.rel, deg_w=self.deg_w, bias=np.array([self.bias]))
        return path

    @classmethod
    def load(cls, path: Path) -> EmbeddingScorer:
        with np.load(path) as z:
            return cls(drug=z["drug"], disease=z["disease"], deg_drug=z["deg_drug"], deg_dis=z["deg_dis"],
                       rel=z["rel"], deg_w=z["deg_w"], bias=float(z["bias"][0]))


def scorer_from_model(model, inputs, visible: np.ndarray) -> EmbeddingScorer:
    """Run the encoder once with `visible` TREATS edges and freeze the result for numpy scoring."""
    from gnn.treats.train import embed

    drug, dis, deg_drug, deg_dis = embed(model, inputs, visible)
    cfg = model.config
    deg_w = model.deg.detach().numpy().copy() if cfg.degree_features else np.zeros(2, dtype=np.float32)
    return EmbeddingScorer(drug=drug, disease=dis, deg_drug=deg_drug, deg_dis=deg_dis,
                           rel=model.rel.detach().numpy().copy(), deg_w=deg_w, bias=float(model.bias.detach()[0]))
