"""The recipe over several seeds beside the previous CNN recipe and the pixel logistic regression, all on the
same de-duplicated split (test = the source's val images: patients never seen), measured in one run."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from gnn.images.baseline import PixelLogReg
from gnn.images.data import SPLIT_SEED, Split
from gnn.images.metrics import prior_weights, report
from gnn.images.train import TrainConfig, train_model

NEW, OLD, LOGREG = "CNN (this recipe)", "CNN (previous recipe)", "pixel logistic regression"
METRICS = ["auroc", "accuracy", "accuracy_prev", "balanced_accuracy", "sensitivity", "specificity",
           "brier", "brier_prev", "ece", "ece_prev"]
PLOT = "images-reliability.png"


def previous_recipe(cfg: TrainConfig) -> TrainConfig:
    """The recipe before issue 17: horizontal flips, no test-time augmentation (calibrated the same way here,
    so that the comparison is of the training recipe)."""
    return TrainConfig(**{**cfg.__dict__, "hflip": True, "tta": "off"})


def split_text(split: Split, normal_share: float) -> str:
    s, d = split.sizes(), split.dedup
    return (f"PneumoniaMNIST, exact duplicates removed ({d['duplicates_within_train']} within train, "
            f"{d['train_images_also_in_val']} train images also in val, {d['duplicates_within_val']} within val). "
            f"Test = the source's val images ({s['test']['n']}, {s['test']['normal']} normal), never used for "
            f"training or tuning; fit on {s['train']['n']} train images, tuned (Platt for "
            f"{normal_share:.0%} normal, TTA choice) on {s['cal']['n']}. `_prev` = re-weighted to "
            f"{normal_share:.0%} normal; threshold 0.5 on probabilities calibrated for that prevalence.")


def evaluate_seeds(split: Split, base: TrainConfig, seeds: list[int], progress: bool = True,
                   plot_dir: Path | None = None) -> tuple[dict[str, list[dict[str, float]]], dict[str, Any]]:
    """Per-seed test metrics of the three models, and notes (times, load, TTA choice, split)."""
    per_seed: dict[str, list[dict[str, float]]] = {NEW: [], OLD: [], LOGREG: []}
    notes: dict[str, Any] = {"split_sizes": split.sizes(), "dedup": split.dedup, "split_seed": SPLIT_SEED,
                             "normal_share": base.normal_share, "threshold": 0.5, "epochs": base.epochs,
                             "threads": base.threads, "train_seconds": {NEW: [], OLD: [], LOGREG: []},
                             "train_cpu_seconds": {NEW: [], OLD: []},
                             "tta_used": [], "load_average_1min": [], "cpu_count": os.cpu_count()}
    curves: dict[str, tuple[np.ndarray, ...]] = {}
    w_test = prior_weights(split.y_test, base.normal_share)
    for seed in tqdm(seeds, desc="seeds", unit="seed", disable=not progress):
        notes["load_average_1min"].append(round(os.getloadavg()[0], 2))
        t0 = time.perf_counter()
        lr = PixelLogReg(seed=seed).fit(split, base.normal_share)
        notes["train_seconds"][LOGREG].append(round(time.perf_counter() - t0, 1))
        p_lr = lr.probabilities(split.x_test)
        per_seed[LOGREG].append(report(p_lr, split.y_test, 0.5, base.normal_share))
        for name, cfg in ((NEW, TrainConfig(**{**base.__dict__, "seed": seed})),
                          (OLD, previous_recipe(TrainConfig(**{**base.__dict__, "seed": seed})))):
            trained = train_model(split, cfg, progress=progress)
            notes["train_seconds"][name].append(round(trained.seconds, 1))
            notes["train_cpu_seconds"][name].append(round(trained.cpu_seconds, 1))
            prob = trained.probabilities(split.x_test)
            per_seed[name].append(report(prob, split.y_test, trained.threshold, base.normal_share))
            if name == NEW:
                notes["tta_used"].append(trained.tta)
            if seed == seeds[0]:
                curves[name] = (prob, split.y_test, w_test)
        if seed == seeds[0]:
            curves[LOGREG] = (p_lr, split.y_test, w_test)
    if plot_dir is not None:
        from gnn.pipeline.calibration import reliability_plot

        reliability_plot(curves, plot_dir / PLOT, f"Test (val images), re-weighted to {base.normal_share:.0%} "
                                                  f"normal, seed {seeds[0]}")
        notes["reliability_plot"] = PLOT
    return per_seed, notes
