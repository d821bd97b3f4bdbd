"""The diagnosis model family: the attention model over DDXPlus findings ensembled with the graph baseline.

`medkg train diagnosis` fits on a labelled CSV (default: DDXPlus patients_sample.csv) after choosing the
ensemble's graph weight and the differential threshold by cross-fitting on the same training rows;
`medkg evaluate diagnosis` runs the nested cross-validation (gnn.diagnosis.evaluate) and writes
docs/results/diagnosis.json with docs/diagnosis-reliability.png. No torch at import time.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gnn.pipeline.family import FamilyConfig, ModelFamily
from gnn.pipeline.store import RunManifest, file_checksum

RELIABILITY_PNG = "diagnosis-reliability.png"


@dataclass
class DiagnosisConfig(FamilyConfig):
    threads: int = 1  # one thread is as fast at this size, and the machine is shared
    train_data: str | None = None  # labelled CSV (default: DDXPlus patients_sample.csv)
    epochs: int = 40
    dim: int = 64
    heads: int = 4
    layers: int = 1
    folds: int = 3  # outer CV folds (evaluate); 3, not 5: each outer fold trains 1 + inner_folds models
    inner_folds: int = 2  # cross-fitting folds that choose the ensemble weights and the threshold

    def model_config(self, seed: int | None = None):
        from gnn.diagnosis.model import ModelConfig

        return ModelConfig(dim=self.dim, heads=self.heads, layers=self.layers, epochs=self.epochs,
                           seed=self.seed if seed is None else seed)


def _data(cfg: DiagnosisConfig):
    from gnn.diagnosis.knowledge import ddxplus_dir, default_knowledge
    from gnn.diagnosis.patients import read_patients, sample_path

    kb = default_knowledge()
    path = Path(cfg.train_data) if cfg.train_data else sample_path()
    rows = read_patients(path, kb, require_labels=True)
    checksums = {f"ddxplus/{n}": file_checksum(ddxplus_dir() / n)
                 for n in ("release_evidences.json", "release_conditions.json")}
    checksums[path.name if cfg.train_data else "ddxplus/patients_sample.csv"] = file_checksum(path)
    return kb, rows, path, checksums


def _results_dir() -> Path:
    from gnn.pipeline.results import RESULTS_DIR

    return Path(os.environ.get("MEDKG_RESULTS_DIR") or RESULTS_DIR)


class DiagnosisFamily(ModelFamily):
    name = "diagnosis"
    summary = "differential diagnosis from DDXPlus findings (attention + graph ensemble)"
    artifact_format = 2  # 1: files directly under artifacts/diagnosis (before the store)
    config_type = DiagnosisConfig
    headline_metrics = ("differential_threshold", "graph_weight", "final_loss")

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb in ("train", "evaluate"):
            parser.add_argument("--train-data", default=None, help="labelled CSV (default: DDXPlus sample)")
            parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 40)")
            parser.add_argument("--inner-folds", type=int, default=None,
                                help="cross-fitting folds choosing ensemble weights and threshold (default 2)")
        if verb == "evaluate":
            parser.add_argument("--folds", type=int, default=None, help="outer CV folds (default 3)")
        if verb == "predict":
            parser.add_argument("--input", required=True, help="CSV with columns age, sex, features")
            parser.add_argument("--output", default=None, help="JSONL output (default: stdout)")
            parser.add_argument("--top", type=int, default=49, help="candidates per patient (default all 49)")
            parser.add_argument("--explain", action="store_true", help="add supporting/absent findings")
            parser.add_argument("--strict", action="store_true", help="stop at the first malformed row")
            parser.add_argument("--run", default=None, help="run name or folder (default: latest)")

    # -- train -------------------------------------------------------------------------------------
    def train(self, config: FamilyConfig, *, progress: bool = True) -> RunManifest:
        import torch

        from gnn.diagnosis.baseline import GraphBaseline
        from gnn.diagnosis.evaluate import choose_recipe
        from gnn.diagnosis.service import Diagnoser
        from gnn.diagnosis.vocab import Vocab

        assert isinstance(config, DiagnosisConfig)
        torch.set_num_threads(config.threads)
        kb, rows, path, checksums = _data(config)
        mcfg = config.model_config()
        t0 = time.perf_counter()
        recipe = choose_recipe(rows, kb, mcfg, GraphBaseline(kb.links, kb.evidences), Vocab.from_knowledge(kb),
                               config.inner_folds, seed=config.seed, progress=progress)
        dx = Diagnoser.train(rows, kb, mcfg, progress=progress)
        dx.graph_weight, dx.graph_clip = recipe.graph_weight, recipe.graph_clip
        dx.threshold = recipe.thresholds["attention+graph"]
        dx.metrics.update(train_data=str(path), recipe=recipe.to_dict(),
                          train_seconds=round(time.perf_counter() - t0, 1))
        return self.save_run(dx, config, checksums)

    def save_run(self, dx: Any, config: DiagnosisConfig, checksums: dict[str, str] | None = None) -> RunManifest:
        """Save a fitted Diagnoser as a new run (and the latest) through the artefact store."""
        store = self.store(config.artifacts)
        metrics = {"n_patients": dx.metrics.get("n_patients"), "final_loss": dx.metrics.get("final_loss"),
                   "graph_weight": dx.graph_weight, "graph_clip": dx.graph_clip,
                   "differential_threshold": dx.threshold, "train_seconds": dx.metrics.get("train_seconds")}
        man = RunManifest(family=self.name, model_run=store.new_run_name(config.seed), artifact_format=0,
                          seed=config.seed, config=config.to_dict(), metrics=metrics,
                          data_checksums=checksums or {})
        store.save(man, dx.write_files)
        return man

    # -- evaluate ----------------------------------------------------------------------------------
    def evaluate(self, config: FamilyConfig, seeds: list[int], *, progress: bool = True) -> dict[str, Any]:
        import numpy as np
        import torch

        from gnn.diagnosis.evaluate import MODELS, THRESHOLD_GRID, cross_validate, per_seed_metrics
        from gnn.pipeline.calibration import reliability_plot
        from gnn.pipeline.results import results_document, write_results

        assert isinstance(config, DiagnosisConfig)
        torch.set_num_threads(config.threads)
        kb, rows, path, checksums = _data(config)
        t0 = time.perf_counter()
        res = cross_validate(rows, kb, config.model_config(), seeds=tuple(seeds), folds=config.folds,
                             inner_folds=config.inner_folds, progress=progress)
        y_all = np.array([kb.index[r.pathology] for r in rows])
        per_seed = per_seed_metrics(res, y_all)
        split = (f"Nested patient-level stratified {config.folds}-fold CV over {len(rows)} DDXPlus patients "
                 f"({path.name}); ensemble weights and thresholds chosen on {config.inner_folds} inner folds "
                 "of each training part. '_half': floor(n/2) findings removed per test patient. dx_*: "
                 "the thresholded differential; f1: top-k with k = reference size (oracle).")
        notes = {"data": str(path), "data_checksums": checksums, "config": config.to_dict(),
                 "seconds": round(time.perf_counter() - t0, 1), "threshold_grid": list(THRESHOLD_GRID),
                 "recipes": [{"seed": r.seed, "fold": r.fold, **r.recipe.to_dict()} for r in res],
                 "calibration": "brier_all: multiclass Brier over 49 pathologies; ece_all: top-label ECE, 10 bins; "
                                "held-out patients, all findings, no recalibration",
                 "reliability_plot": f"docs/{RELIABILITY_PNG}"}
        doc = results_document(
            "diagnosis", self.name, title="Diagnosis (DDXPlus sample)", split=split, seeds=list(seeds),
            primary="attention+graph",
            metrics=["top1_all", "top3_all", "top1_half", "top3_half", "f1_all", "dx_precision_all",
                     "dx_recall_all", "dx_f1_all", "dx_size_all", "brier_all", "ece_all"],
            per_seed=per_seed, notes=notes)
        write_results(doc)
        pooled_y = np.concatenate([y_all[r.test] for r in res])
        reliability_plot({m: (np.concatenate([r.probs[m] for r in res]), pooled_y) for m in MODELS},
                         _results_dir().parent / RELIABILITY_PNG,
                         "Diagnosis: top-label reliability (held-out, nested CV)")
        return doc

    # -- load / predict ----------------------------------------------------------------------------
    def load(self, run: str | Path | None = None, artifacts: Path | None = None, kb: Any = None,
             links: Any = None) -> Any:
        from gnn.diagnosis.service import Diagnoser

        man = self.store(artifacts).manifest(run)
        dx = Diagnoser.load(Path(man.folder), kb, links=links)
        dx.run = man
        return dx

    def predict(self, args: argparse.Namespace) -> dict[str, Any]:
        from gnn.diagnosis.cli import score_file

        art = Path(args.artifacts) if getattr(args, "artifacts", None) else None
        dx = self.load(getattr(args, "run", None), art)
        return score_file(dx, Path(args.input), Path(args.output) if args.output else None, top=args.top,
                          explain=args.explain, strict=args.strict)

    # -- meta-tests --------------------------------------------------------------------------------
    def tiny_config(self, artifacts: Path, workdir: Path) -> FamilyConfig:
        from gnn.diagnosis.patients import sample_path

        lines = sample_path().read_text().splitlines()
        tiny = workdir / "patients_tiny.csv"
        tiny.write_text("\n".join(lines[:161]) + "\n")  # header + 160 patients
        return DiagnosisConfig(artifacts=artifacts, train_data=str(tiny), epochs=2, dim=16, heads=2, folds=2)

    def tiny_predict_args(self, run_dir: Path, workdir: Path) -> argparse.Namespace:
        from gnn.diagnosis.patients import sample_path

        lines = sample_path().read_text().splitlines()
        inp = workdir / "score.csv"
        inp.write_text("\n".join(lines[:4]) + "\n")
        return argparse.Namespace(run=str(run_dir), input=str(inp), output=str(workdir / "scored.jsonl"), top=5,
                                  explain=False, strict=False, artifacts=None, json=True)
