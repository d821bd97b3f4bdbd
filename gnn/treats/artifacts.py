"""A training run on disk: artifacts/treats/<run>/ with config.json (config, build id, git sha, calibration,
candidates), metrics.json, model.pt (state_dict), scorer.npz (frozen embeddings), index.json (node index)
and, when config.json says `"scorer": "ensemble"`, ensemble.npz (DistMult arrays, degrees, weights) and, when
the ensemble weighs the metapath regression, paths.npz (relation matrices, visible TREATS, coefficients).
artifacts/treats/latest.txt names the default run.

config.json's `artifact_format` (ARTIFACT_FORMAT) versions this layout: a run written by older code (no field,
or another number) is refused by `load_run` with a ConfigError saying to retrain (the API answers 503 with it)."""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gnn.treats.ensemble import EnsembleScorer
from gnn.treats.scorer import EmbeddingScorer
from kg.errors import ConfigError
from kg.settings import REPO_ROOT, get_settings

CONFIG, METRICS, WEIGHTS, SCORER, INDEX, CANDIDATES, ENSEMBLE, PATHS = (
    "config.json", "metrics.json", "model.pt", "scorer.npz", "index.json", "candidates.npz", "ensemble.npz",
    "paths.npz")
ARTIFACT_FORMAT = 2  # 1: GNN / 3-part ensemble (no field in config.json); 2: + metapath regression


def treats_root(artifacts: Path | None = None) -> Path:
    return (artifacts or get_settings().medkg_artifacts) / "treats"


def git_sha() -> str | None:
    """The working tree's commit (None outside git); `+dirty` when files differ from it."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (sha + ("+dirty" if dirty else "")) or None


def runtime_info() -> dict:
    import torch

    return {"torch": torch.__version__, "python": platform.python_version(), "git_sha": git_sha()}


@dataclass
class TreatsRun:
    """A loaded run: config, frozen scorer, node index and candidate rows (what predict and the API need)."""

    folder: Path
    config: dict
    scorer: EmbeddingScorer | EnsembleScorer
    index: dict
    cand_drugs: np.ndarray
    cand_dis: np.ndarray
    known: np.ndarray

    @property
    def model_run(self) -> str:
        return self.config["model_run"]


def resolve_run_dir(run: str | Path | None = None, artifacts: Path | None = None) -> Path:
    """A run folder: the given path or name, else the one artifacts/treats/latest.txt names."""
    root = treats_root(artifacts)
    if run:
        p = Path(run)
        return p if p.is_dir() else root / str(run)
    latest = root / "latest.txt"
    if not latest.is_file():
        raise ConfigError(f"no trained treats model under {root}: run `medkg train treats` first")
    return root / latest.read_text().strip()


def load_run(run: str | Path | None = None, artifacts: Path | None = None) -> TreatsRun:
    """Load a run (numpy only); a clear error naming the missing file."""
    folder = resolve_run_dir(run, artifacts)
    for name in (CONFIG, SCORER, INDEX, CANDIDATES):
        if not (folder / name).is_file():
            raise ConfigError(f"treats model run {folder} is incomplete: {name} is missing")
    with np.load(folder / CANDIDATES) as z:
        cand_drugs, cand_dis, known = z["drugs"], z["diseases"], z["known"]
    config = json.loads((folder / CONFIG).read_text())
    fmt = config.get("artifact_format", 1) if isinstance(config, dict) else None
    if fmt != ARTIFACT_FORMAT:
        raise ConfigError(f"treats model run {folder} is outdated: {CONFIG} field 'artifact_format' is {fmt}, "
                          f"this code reads {ARTIFACT_FORMAT}; retrain with `medkg train treats`")
    scorer: EmbeddingScorer | EnsembleScorer = EmbeddingScorer.load(folder / SCORER)
    if config.get("scorer") == "ensemble":
        if not (folder / ENSEMBLE).is_file():
            raise ConfigError(f"treats model run {folder} is incomplete: {ENSEMBLE} is missing")
        scorer = EnsembleScorer.load(folder / ENSEMBLE, scorer, folder / PATHS)
    return TreatsRun(folder=folder, config=config, scorer=scorer, index=json.loads((folder / INDEX).read_text()),
                     cand_drugs=cand_drugs, cand_dis=cand_dis, known=known)


def save_candidates(folder: Path, cand_drugs: np.ndarray, cand_dis: np.ndarray, known: np.ndarray) -> None:
    np.savez_compressed(folder / CANDIDATES, drugs=cand_drugs, diseases=cand_dis, known=known)


def mark_latest(folder: Path) -> None:
    (folder.parent / "latest.txt").write_text(folder.name + "\n")


def load_weights(folder: Path, model) -> None:
    """Load model.pt into `model` with weights_only=True."""
    import torch

    model.load_state_dict(torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True))
