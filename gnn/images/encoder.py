"""Use a trained run: `embed(images)` (L2-normalised 128-d) and `predict_proba(images)` (calibrated pneumonia
probability for the run's target prevalence, or another one by Bayes' prior shift)."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from gnn.images.data import as_images
from gnn.images.model import ModelConfig, PneumoniaCNN
from gnn.images.train import forward_all, logits
from gnn.pipeline.calibration import apply_platt
from gnn.pipeline.store import ArtefactStore, RunManifest
from kg.errors import ConfigError, InvalidInput

WEIGHTS = "model.pt"
MODEL_JSON = "model.json"


def save_run(store: ArtefactStore, manifest: RunManifest, model: PneumoniaCNN, spec: dict) -> Path:
    """One run folder: weights (state_dict, loaded with weights_only), model.json and run.json, atomically."""

    def files(out, folder: Path) -> None:
        out.torch(folder / WEIGHTS, model.state_dict())
        out.json(folder / MODEL_JSON, spec, indent=2)

    return store.save(manifest, files)


class ImageEncoder:
    """A loaded run: the CNN with its normalisation, calibration, threshold and TTA choice."""

    def __init__(self, manifest: RunManifest, normal_share: float | None = None) -> None:
        folder = Path(manifest.folder)
        self.model_run = manifest.model_run
        try:
            spec = json.loads((folder / MODEL_JSON).read_text())
            self.model = PneumoniaCNN(ModelConfig.from_dict(spec["model"]))
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"corrupt images model file {folder / MODEL_JSON}: {exc}; "
                              "retrain with `medkg train images`") from exc
        try:
            self.model.load_state_dict(torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True))
        except Exception as exc:  # torch raises several types for truncated or foreign files
            raise ConfigError(f"corrupt images model weights {folder / WEIGHTS}: {exc}; "
                              "retrain with `medkg train images`") from exc
        self.model.eval()
        self.spec = spec
        self.mean, self.std = float(spec["normalisation"]["mean"]), float(spec["normalisation"]["std"])
        self.a, self.b = float(spec["calibration"]["a"]), float(spec["calibration"]["b"])
        self.run_normal_share = float(spec["calibration"]["normal_share"])
        self.normal_share = self.run_normal_share if normal_share is None else float(normal_share)
        if not 0.0 < self.normal_share < 1.0:
            raise ConfigError(f"image normal share must lie strictly between 0 and 1, got {self.normal_share}")
        self.threshold = float(spec["threshold"])
        self.tta = bool(spec["tta"])

    @property
    def dim(self) -> int:
        return int(self.model.config.embedding_dim)

    def _prior_shift(self) -> float:
        """Logit offset moving probabilities calibrated for the run's normal share to `self.normal_share`."""
        def odds(s: float) -> float:
            return math.log((1 - s) / s)

        return odds(self.normal_share) - odds(self.run_normal_share)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """N×D float32 unit-length embeddings (one view; TTA is for the probability only)."""
        with torch.inference_mode():
            return forward_all(self.model, as_images(images, "images"), self.mean, self.std)[0].astype(np.float32)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """N calibrated probabilities of pneumonia."""
        with torch.inference_mode():
            z = logits(self.model, as_images(images, "images"), self.mean, self.std, self.tta)
        return apply_platt(z, self.a, self.b + self._prior_shift())


@lru_cache(maxsize=4)
def load_encoder(run: str | None = None, artifacts: str | None = None) -> ImageEncoder:
    """A cached encoder of a run (default: the latest) under an artefact root (default: MEDKG_ARTIFACTS)."""
    from gnn.pipeline.registry import get_family

    return get_family("images").load(run, Path(artifacts) if artifacts else None)


def embed(images: np.ndarray, run: str | Path | None = None) -> np.ndarray:
    """Embed N×28×28 (or N×28×28×1, uint8 or float) images with a trained run: N×128, L2-normalised."""
    return load_encoder(str(run) if run else None).embed(images)


def predict_proba(images: np.ndarray, run: str | Path | None = None) -> np.ndarray:
    """Calibrated pneumonia probability of each image."""
    return load_encoder(str(run) if run else None).predict_proba(images)


def write_predictions(path: Path, probabilities: np.ndarray) -> None:
    """Tab-separated `index<TAB>probability`, one row per image in input order."""
    lines = ["index\tprobability", *(f"{i}\t{float(p)!r}" for i, p in enumerate(probabilities))]
    try:
        Path(path).write_text("\n".join(lines) + "\n")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write the predictions ({exc.strerror or exc})", field="output") from exc
