"""Use a trained model: `embed(images)` (L2-normalised 128-d) and `predict_proba(images)` (pneumonia)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from gnn.images.artifacts import default_model_dir, load_run
from gnn.images.data import as_images
from gnn.images.metrics import apply_platt
from gnn.images.train import forward_all
from kg.errors import InvalidInput


class ImageEncoder:
    """A loaded model with its normalisation and calibration."""

    def __init__(self, model_dir: Path | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        self.model, self.config = load_run(self.model_dir)
        self.mean = float(self.config["normalisation"]["mean"])
        self.std = float(self.config["normalisation"]["std"])
        self.a = float(self.config["calibration"]["a"])
        self.b = float(self.config["calibration"]["b"])
        self.threshold = float(self.config["threshold"])
        self.model_run = str(self.config["model_run"])

    @property
    def dim(self) -> int:
        return int(self.config["model"]["embedding_dim"])

    def _run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            return forward_all(self.model, as_images(images, "images"), self.mean, self.std)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """N×D float32 unit-length embeddings."""
        return self._run(images)[0].astype(np.float32)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """N calibrated probabilities of pneumonia."""
        return apply_platt(self._run(images)[1], self.a, self.b)

    def embed_and_predict(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z, logits = self._run(images)
        return z.astype(np.float32), apply_platt(logits, self.a, self.b)


@lru_cache(maxsize=4)
def load_encoder(model_dir: str | None = None) -> ImageEncoder:
    """A cached encoder for the default (or given) model directory."""
    return ImageEncoder(Path(model_dir) if model_dir else None)


def embed(images: np.ndarray, model_dir: Path | None = None) -> np.ndarray:
    """Embed N×28×28 (or N×28×28×1, uint8 or float) images with the trained model: N×128, L2-normalised."""
    return load_encoder(str(model_dir) if model_dir else None).embed(images)


def predict_proba(images: np.ndarray, model_dir: Path | None = None) -> np.ndarray:
    """Calibrated pneumonia probability of each image."""
    return load_encoder(str(model_dir) if model_dir else None).predict_proba(images)


def write_predictions(path: Path, probabilities: np.ndarray) -> None:
    """Tab-separated `index<TAB>probability`, one row per image in input order."""
    lines = ["index\tprobability", *(f"{i}\t{float(p)!r}" for i, p in enumerate(probabilities))]
    try:
        Path(path).write_text("\n".join(lines) + "\n")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write the predictions ({exc.strerror or exc})", field="output") from exc
