"""A tiny model family for the pipeline's own tests: logistic regression on a fixed synthetic set.

It is also the smallest complete example of the family contract (config, train, evaluate, load, predict).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gnn.pipeline.family import FamilyConfig, ModelFamily
from gnn.pipeline.results import results_document, write_results
from gnn.pipeline.store import RunManifest


@dataclass
class ToyConfig(FamilyConfig):
    n: int = 400


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x @ np.array([1.5, -1.0, 0.5]) + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return x, y


class ToyFamily(ModelFamily):
    name = "toy"
    summary = "logistic regression on synthetic data (tests only)"
    artifact_format = 1
    config_type = ToyConfig
    headline_metrics = ("accuracy",)

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb == "predict":
            parser.add_argument("--output", required=True)
            parser.add_argument("--run", default=None)

    def _fit(self, cfg: ToyConfig) -> tuple[Any, float]:
        from sklearn.linear_model import LogisticRegression

        x, y = _data(cfg.n, cfg.seed)
        cut = int(0.8 * len(y))
        lr = LogisticRegression().fit(x[:cut], y[:cut])
        return lr, float(lr.score(x[cut:], y[cut:]))

    def train(self, config: FamilyConfig, *, progress: bool = True) -> RunManifest:
        assert isinstance(config, ToyConfig)
        lr, acc = self._fit(config)
        store = self.store(config.artifacts)
        man = RunManifest(family=self.name, model_run=store.new_run_name(config.seed), artifact_format=0,
                          seed=config.seed, config=config.to_dict(), metrics={"accuracy": acc})
        store.save(man, lambda out, folder: out.npz(folder / "weights.npz", coef=lr.coef_, intercept=lr.intercept_))
        return man

    def evaluate(self, config: FamilyConfig, seeds: list[int], *, progress: bool = True) -> dict[str, Any]:
        assert isinstance(config, ToyConfig)
        rows, base = [], []
        for s in seeds:
            cfg = ToyConfig(**{**config.to_dict(), "seed": s, "artifacts": config.artifacts})
            rows.append({"accuracy": self._fit(cfg)[1]})
            _, y = _data(cfg.n, s)
            base.append({"accuracy": float(max(y.mean(), 1 - y.mean()))})
        doc = results_document("toy", self.name, title="Toy family", split="80/20 by row.", seeds=seeds,
                               primary="logreg", metrics=["accuracy"],
                               per_seed={"logreg": rows, "majority": base}, command="medkg evaluate toy")
        write_results(doc)
        return doc

    def load(self, run: str | Path | None = None, artifacts: Path | None = None) -> dict[str, np.ndarray]:
        man = self.store(artifacts).manifest(run)
        with np.load(Path(man.folder) / "weights.npz") as z:
            return {"coef": z["coef"], "intercept": z["intercept"]}

    def predict(self, args: argparse.Namespace) -> dict[str, Any]:
        w = self.load(args.run, Path(args.artifacts) if getattr(args, "artifacts", None) else None)
        x, _ = _data(10, 99)
        p = 1 / (1 + np.exp(-(x @ w["coef"].ravel() + w["intercept"][0])))
        Path(args.output).write_text(json.dumps(p.tolist()))
        return {"rows": len(p), "output": args.output}

    def tiny_config(self, artifacts: Path, workdir: Path) -> FamilyConfig:
        return ToyConfig(artifacts=artifacts, n=200)

    def tiny_predict_args(self, run_dir: Path, workdir: Path) -> argparse.Namespace:
        return argparse.Namespace(run=str(run_dir), output=str(workdir / "pred.json"), artifacts=None, json=True)
