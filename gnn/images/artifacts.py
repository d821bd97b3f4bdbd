"""Save and load a trained image model: state_dict (weights_only), config.json and metrics.json."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

from gnn.artifacts_io import ArtefactBatch
from gnn.images.model import ModelConfig, PneumoniaCNN
from kg.errors import ConfigError
from kg.settings import get_settings

WEIGHTS = "model.pt"
CONFIG = "config.json"
METRICS = "metrics.json"


def default_model_dir() -> Path:
    return get_settings().medkg_artifacts / "images"


def save_run(out_dir: Path, trained, metrics: dict, split_sizes: dict) -> Path:
    """Write weights, config (architecture, normalisation, calibration, threshold) and metrics."""
    config = {
        "model_run": f"images-cnn-seed{trained.config.seed}-{time.strftime('%Y%m%dT%H%M%S')}",
        "train": trained.config.to_dict(),
        "model": trained.model.config.to_dict(),
        "normalisation": {"mean": trained.mean, "std": trained.std},
        "calibration": {"method": "platt", "a": trained.platt_a, "b": trained.platt_b,
                        "class_mix": "natural (source val split, 25.8% normal)"},
        "threshold": trained.threshold,
        "split": split_sizes,
        "seconds": trained.seconds,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    with ArtefactBatch() as out:  # all three replace the previous run together, or none does
        out.torch(out_dir / WEIGHTS, trained.model.state_dict())
        out.json(out_dir / CONFIG, config, indent=2)
        out.json(out_dir / METRICS, {"model_run": config["model_run"], **metrics, "history": trained.history},
                 indent=2)
    return out_dir


def load_run(model_dir: Path | None = None) -> tuple[PneumoniaCNN, dict]:
    """The model (eval mode) and its config; a clear error if no model was trained there."""
    d = Path(model_dir) if model_dir else default_model_dir()
    if not (d / WEIGHTS).is_file() or not (d / CONFIG).is_file():
        raise ConfigError(f"no trained image model in {d}: run `medkg images train` first")
    try:
        config = json.loads((d / CONFIG).read_text())
        model = PneumoniaCNN(ModelConfig.from_dict(config["model"]))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"corrupt image model config {d / CONFIG}: {exc}; retrain with `medkg images train`") from exc
    try:
        model.load_state_dict(torch.load(d / WEIGHTS, map_location="cpu", weights_only=True))
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise ConfigError(f"corrupt image model weights {d / WEIGHTS}: {exc}; "
                          "retrain with `medkg images train`") from exc
    model.eval()
    return model, config
