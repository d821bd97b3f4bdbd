"""A treats run on disk, saved through the one artefact store (gnn.pipeline.store): artifacts/treats/<run>/ with
run.json (provenance: seed, git sha, graph build id, data checksums, torch/python, artifact format, metrics, and
under `config` the recipe, calibration, candidates and names), model.pt (GNN state_dict), scorer.npz (frozen GNN
embeddings), ensemble.npz (DistMult arrays, degrees, weights), paths.npz (relation matrices, visible TREATS,
coefficients), index.json (node index) and candidates.npz (candidate rows, known TREATS, NOT_INDICATED_FOR pairs).
The store's atomic `latest` pointer names the default run.

ARTIFACT_FORMAT versions this layout: a run written by older code (format 1/2: config.json + latest.txt, no
run.json) is refused by `load_run` with a ConfigError saying to retrain (the API answers 503 with it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gnn.pipeline.store import ArtefactStore
from gnn.treats.ensemble import EnsembleScorer
from gnn.treats.scorer import EmbeddingScorer
from kg.errors import ConfigError

METRICS, WEIGHTS, SCORER, INDEX, CANDIDATES, ENSEMBLE, PATHS = (
    "metrics.json", "model.pt", "scorer.npz", "index.json", "candidates.npz", "ensemble.npz", "paths.npz")
# 1: GNN / 3-part ensemble; 2: + metapath regression (config.json, latest.txt); 3: artefact store (run.json),
# indication-free text, every known edge in the deployed fit, cross-fitted calibration, NOT_INDICATED_FOR pairs
ARTIFACT_FORMAT = 3
FAMILY = "treats"


def store(artifacts: Path | None = None) -> ArtefactStore:
    return ArtefactStore(FAMILY, ARTIFACT_FORMAT, artifacts)


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
    contra: np.ndarray  # 2×m NOT_INDICATED_FOR (drug row, disease row): never predicted nor recommended

    @property
    def model_run(self) -> str:
        return self.config["model_run"]


def load_run(run: str | Path | None = None, artifacts: Path | None = None) -> TreatsRun:
    """Load a run (numpy only) through the store: a missing, outdated or incomplete run is a ConfigError that
    names the file or field and says to retrain."""
    man = store(artifacts).manifest(run)
    folder = Path(man.folder)
    ensemble = man.config.get("scorer") == "ensemble"  # every trained run; a bare GNN scorer in some tests
    for name in (INDEX, CANDIDATES, *((ENSEMBLE,) if ensemble else (SCORER,))):
        if not (folder / name).is_file():
            raise ConfigError(f"treats model run {folder} is incomplete: {name} is missing; retrain with "
                              "`medkg train treats`")
    with np.load(folder / CANDIDATES) as z:
        cand_drugs, cand_dis, known = z["drugs"], z["diseases"], z["known"]
        contra = z["contra"] if "contra" in z.files else np.zeros((2, 0), dtype=np.int64)
    config = {**man.config, "model_run": man.model_run, "build_id": man.build_id}
    gnn = EmbeddingScorer.load(folder / SCORER) if (folder / SCORER).is_file() else None  # none: recipe without GNN
    scorer: EmbeddingScorer | EnsembleScorer | None = gnn
    if ensemble:
        scorer = EnsembleScorer.load(folder / ENSEMBLE, gnn, folder / PATHS)
    assert scorer is not None
    return TreatsRun(folder=folder, config=config, scorer=scorer, index=json.loads((folder / INDEX).read_text()),
                     cand_drugs=cand_drugs, cand_dis=cand_dis, known=known, contra=contra)


def save_candidates(folder: Path, cand_drugs: np.ndarray, cand_dis: np.ndarray, known: np.ndarray,
                    contra: np.ndarray | None = None) -> None:
    np.savez_compressed(folder / CANDIDATES, drugs=cand_drugs, diseases=cand_dis, known=known,
                        contra=np.zeros((2, 0), dtype=np.int64) if contra is None else contra)
