"""The `images` model family: the PneumoniaMNIST CNN (128-d embedding + calibrated pneumonia probability)
on the one model pipeline (`medkg train|evaluate|predict images`). No torch at import time."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnn.pipeline.family import FamilyConfig, ModelFamily
from gnn.pipeline.store import RunManifest
from kg.settings import get_settings


def _default_share() -> float:
    return get_settings().medkg_image_normal_share


@dataclass
class ImagesConfig(FamilyConfig):
    """Training data and recipe knobs; the architecture and optimiser live in `gnn.images.train.TrainConfig`."""

    threads: int = 1  # 2 threads ran slower than 1 on the shared 2-core machine
    epochs: int = 10  # 20 in the previous recipe; halved to fit the shared machine (see docs/images.md)
    limit: int = 0  # >0: a stratified subset of that many training images (quick checks, tests)
    normal_share: float = field(default_factory=_default_share)  # target prevalence of normal images
    data_dir: Path | None = None


class ImagesFamily(ModelFamily):
    name = "images"
    summary = "chest X-ray CNN (PneumoniaMNIST): embedding + calibrated pneumonia probability"
    artifact_format = 2  # 1 = the pre-pipeline artifacts/images/{model.pt,config.json}
    config_type = ImagesConfig
    headline_metrics = ("tune_auroc", "tune_accuracy_prev", "tune_brier_prev")

    # -- CLI -------------------------------------------------------------------------------------
    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb in ("train", "evaluate"):
            parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 10)")
            parser.add_argument("--limit", type=int, default=None,
                                help="train on a stratified N-image subset (quick checks)")
            parser.add_argument("--normal-share", dest="normal_share", type=float, default=None,
                                help="target share of normal images for calibration and threshold "
                                     "(default MEDKG_IMAGE_NORMAL_SHARE, 0.37)")
        if verb == "predict":
            parser.add_argument("--input", required=True,
                                help="an .npz holding `test_images` (N×28×28 uint8, or ×1, or float)")
            parser.add_argument("--output", required=True, help="the TSV to write (header `index<TAB>probability`)")
            parser.add_argument("--key", default="test_images", help="array name in the .npz (default test_images)")
            parser.add_argument("--run", default=None, help="a run name or folder (default: the latest run)")

    # -- verbs -----------------------------------------------------------------------------------
    def _split(self, cfg: ImagesConfig):
        from gnn.images.data import load_split

        return load_split(cfg.data_dir, limit=cfg.limit)

    def _train_config(self, cfg: ImagesConfig):
        from gnn.images.train import TrainConfig

        return TrainConfig(epochs=cfg.epochs, seed=cfg.seed, threads=cfg.threads, normal_share=cfg.normal_share)

    def _checksums(self, cfg: ImagesConfig) -> dict[str, str]:
        from gnn.images.data import dataset_path
        from gnn.pipeline.store import file_checksum

        path = dataset_path(cfg.data_dir)
        return {"medmnist/pneumoniamnist.npz": file_checksum(path)}

    def train(self, config: FamilyConfig, *, progress: bool = True) -> RunManifest:
        assert isinstance(config, ImagesConfig)
        from gnn.images.encoder import save_run
        from gnn.images.train import train_model

        split = self._split(config)
        trained = train_model(split, self._train_config(config), progress=progress)
        store = self.store(config.artifacts)
        metrics = {f"tune_{k}": v for k, v in trained.tune["tuning"].items()}
        metrics.update({"train_seconds": round(trained.seconds, 1), "train_cpu_seconds": round(trained.cpu_seconds, 1),
                        "tta": trained.tta,
                        "threshold": trained.threshold, "normal_share": config.normal_share})
        spec = {"model": trained.model.config.to_dict(), "train": trained.config.to_dict(),
                "normalisation": {"mean": trained.mean, "std": trained.std},
                "calibration": {"method": "platt", "a": trained.platt_a, "b": trained.platt_b,
                                "normal_share": config.normal_share, "fitted_on": "tuning part (train images)"},
                "threshold": trained.threshold, "tta": trained.tta, "tta_choice": trained.tune,
                "split": split.sizes(), "dedup": split.dedup, "history": trained.history}
        man = RunManifest(family=self.name, model_run=store.new_run_name(config.seed), artifact_format=0,
                          seed=config.seed, config=config.to_dict(), metrics=metrics,
                          data_checksums=self._checksums(config))
        save_run(store, man, trained.model, spec)
        return man

    def evaluate(self, config: FamilyConfig, seeds: list[int], *, progress: bool = True) -> dict[str, Any]:
        assert isinstance(config, ImagesConfig)
        from gnn.images.evaluate import METRICS, NEW, evaluate_seeds, split_text
        from gnn.pipeline.results import RESULTS_DIR, results_document, write_results

        split = self._split(config)
        out_dir = Path(os.environ.get("MEDKG_RESULTS_DIR") or RESULTS_DIR)
        per_seed, notes = evaluate_seeds(split, self._train_config(config), seeds, progress, plot_dir=out_dir)
        notes["data_checksums"] = self._checksums(config)
        doc = results_document("images", self.name, title="Chest X-ray pneumonia (patients never seen)",
                               split=split_text(split, config.normal_share), seeds=seeds, primary=NEW,
                               metrics=METRICS, per_seed=per_seed, notes=notes)
        write_results(doc, out_dir)
        return doc

    def load(self, run: str | Path | None = None, artifacts: Path | None = None) -> Any:
        from gnn.images.encoder import ImageEncoder

        return ImageEncoder(self.store(artifacts).manifest(run), normal_share=None)

    def predict(self, args: argparse.Namespace) -> dict[str, Any]:
        from gnn.images.data import read_npz_images
        from gnn.images.encoder import write_predictions

        images = read_npz_images(Path(args.input), key=args.key)
        encoder = self.load(args.run, Path(args.artifacts) if getattr(args, "artifacts", None) else None)
        prob = encoder.predict_proba(images)
        write_predictions(Path(args.output), prob)
        return {"input": str(args.input), "output": str(args.output), "n": len(prob), "model_run": encoder.model_run,
                "threshold": encoder.threshold, "normal_share": encoder.normal_share,
                "predicted_pneumonia": int((prob >= encoder.threshold).sum())}

    # -- meta-tests ------------------------------------------------------------------------------
    def tiny_config(self, artifacts: Path, workdir: Path) -> FamilyConfig:
        return ImagesConfig(artifacts=artifacts, epochs=1, limit=300, threads=1)

    def tiny_predict_args(self, run_dir: Path, workdir: Path) -> argparse.Namespace:
        import numpy as np

        from gnn.images.data import load_parts

        x = load_parts()["val"][0][:5]
        np.savez(workdir / "in.npz", test_images=x)
        return argparse.Namespace(input=str(workdir / "in.npz"), output=str(workdir / "out.tsv"), key="test_images",
                                  run=str(run_dir), artifacts=None, json=True)
