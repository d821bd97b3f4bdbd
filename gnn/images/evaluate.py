"""Several seeds of the CNN beside the pixel logistic-regression baseline, on the documented split."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tqdm import tqdm

from gnn.images.baseline import evaluate_baseline
from gnn.images.data import SPLIT_SEED, Split, load_split
from gnn.images.metrics import mean_sd
from gnn.images.train import TrainConfig, evaluate_trained, train_model

REPORTED = ("auroc", "accuracy", "balanced_accuracy", "accuracy_at_0.5")


def evaluate_seeds(seeds: list[int], epochs: int, split: Split | None = None, progress: bool = True) -> dict:
    """Train one CNN per seed and fit the baseline per seed; test-part metrics and their mean ± sd."""
    split = split or load_split()
    runs = []
    for seed in tqdm(seeds, desc="seeds", unit="seed", disable=not progress):
        t0 = time.perf_counter()
        lr = evaluate_baseline(split, seed=seed)
        lr_seconds = time.perf_counter() - t0
        trained = train_model(split, TrainConfig(epochs=epochs, seed=seed), progress=progress)
        cnn = evaluate_trained(trained, split)
        runs.append({"seed": seed, "cnn": cnn["test"], "logreg": lr["test"],
                     "cnn_train_seconds": trained.seconds, "logreg_train_seconds": lr_seconds})
    summary = {model: {m: mean_sd([r[model][m] for r in runs]) for m in REPORTED} for model in ("cnn", "logreg")}
    return {"split": {"seed": SPLIT_SEED, **split.sizes()}, "epochs": epochs, "seeds": seeds,
            "summary": summary, "runs": runs}


def save_evaluation(result: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "evaluation.json"
    path.write_text(json.dumps(result, indent=2))
    return path
