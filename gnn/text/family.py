"""The text model family: the Symptom2Disease complaint classifier (TF-IDF + MiniLM + logistic regression)
and the encoder features it reads.

`medkg train text` fits on all of Symptom2Disease and saves a run; `medkg evaluate text` scores the model
beside the TF-IDF baseline on stratified splits (accuracy, macro-F1, Brier, ECE) and zero-shot labelling,
writing docs/results/text.json, docs/results/text-zeroshot.json and docs/text-reliability.png.
No torch at import time.
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

RELIABILITY_PNG = "text-reliability.png"


@dataclass
class TextConfig(FamilyConfig):
    data: str | None = None  # Symptom2Disease CSV (columns label, text); default under MEDKG_DATA_DIR
    test_fraction: float = 0.2
    zero_shot: bool = True  # evaluate: also the zero-shot rows (label descriptions, DO names/definitions)


def cache_path(artifacts: Path | None = None) -> Path:
    """Encoder features of complaints, cached by text hash (outside the store's run folders)."""
    from kg.settings import get_settings

    return Path(artifacts or get_settings().medkg_artifacts) / "cache" / "text-complaint-embeddings.npz"


def _dataset(cfg: TextConfig, progress: bool):
    from gnn.text.features import encode_complaints
    from gnn.text.symptom2disease import default_path, load

    path = Path(cfg.data) if cfg.data else default_path()
    ds = load(path)
    whole, mean = encode_complaints(ds.texts, cache=cache_path(cfg.artifacts), progress=progress)
    name = path.name if cfg.data else "symptom2disease/Symptom2Disease.csv"
    return ds, path, whole, mean, {name: file_checksum(path)}


class TextFamily(ModelFamily):
    name = "text"
    summary = "Symptom2Disease complaint classifier (TF-IDF + MiniLM features + logistic regression)"
    artifact_format = 2  # 1: artifacts/text/symptom2disease/ written outside the store
    config_type = TextConfig
    headline_metrics = ("train_accuracy", "n_complaints")
    default_seeds = (1000, 1001, 1002, 1003, 1004)

    def add_arguments(self, verb: str, parser: argparse.ArgumentParser) -> None:
        if verb in ("train", "evaluate"):
            parser.add_argument("--data", default=None, help="Symptom2Disease-style CSV (columns label, text)")
        if verb == "evaluate":
            parser.add_argument("--no-zero-shot", dest="zero_shot", action="store_false", default=None,
                                help="skip the zero-shot rows")
        if verb == "predict":
            parser.add_argument("--input", type=Path, required=True, help="CSV file with a `text` column")
            parser.add_argument("--output", type=Path, required=True, help="JSON-lines file to write")
            parser.add_argument("--run", default=None, help="run name or folder (default: latest)")

    def train(self, config: FamilyConfig, *, progress: bool = True) -> RunManifest:
        import torch

        from gnn.text.classifier import MODEL_DESCRIPTION, ComplaintClassifier

        assert isinstance(config, TextConfig)
        torch.set_num_threads(config.threads)
        ds, path, whole, mean, checksums = _dataset(config, progress)
        t0 = time.perf_counter()
        clf = ComplaintClassifier.fit(ds.texts, ds.labels, whole, mean)
        train_acc = float((clf.predict_proba(ds.texts, whole, mean).argmax(axis=1)
                           == [clf.classes.index(y) for y in ds.labels]).mean())
        clf.meta = {"model": MODEL_DESCRIPTION, "data": str(path), "duplicates_dropped": ds.duplicates_dropped}
        metrics = {"n_complaints": len(ds.texts), "n_classes": len(clf.classes), "train_accuracy": train_acc,
                   "train_seconds": round(time.perf_counter() - t0, 1)}
        return self.save_run(clf, config, metrics, checksums)

    def save_run(self, clf: Any, config: TextConfig, metrics: dict[str, Any],
                 checksums: dict[str, str] | None = None) -> RunManifest:
        """Save a fitted ComplaintClassifier as a new run (and the latest) through the artefact store."""
        store = self.store(config.artifacts)
        man = RunManifest(family=self.name, model_run=store.new_run_name(config.seed), artifact_format=0,
                          seed=config.seed, config=config.to_dict(), metrics=metrics,
                          data_checksums=checksums or {})
        store.save(man, clf.write_files)
        return man

    def evaluate(self, config: FamilyConfig, seeds: list[int], *, progress: bool = True) -> list[dict[str, Any]]:
        import numpy as np
        import torch
        from tqdm import tqdm

        from gnn.pipeline.calibration import reliability_plot
        from gnn.pipeline.results import RESULTS_DIR, results_document, write_results
        from gnn.text.classifier import BASELINE_DESCRIPTION, MODEL_DESCRIPTION, split_metrics, split_scores

        assert isinstance(config, TextConfig)
        torch.set_num_threads(config.threads)
        ds, path, whole, mean, checksums = _dataset(config, progress)
        t0 = time.perf_counter()
        per_seed: dict[str, list[dict[str, float]]] = {"model": [], "baseline": []}
        pooled: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"model": [], "baseline": []}
        for seed in tqdm(seeds, desc="text evaluate", disable=not progress):
            for name, (probs, y) in split_scores(ds.texts, ds.labels, whole, mean, seed,
                                                 config.test_fraction).items():
                per_seed[name].append(split_metrics(probs, y))
                pooled[name].append((probs, y))
        n_test = len(pooled["model"][0][1])
        split = (f"Symptom2Disease: {len(ds.texts)} unique complaints ({ds.duplicates_dropped} duplicates dropped), "
                 f"{len(ds.classes)} labels; stratified {1 - config.test_fraction:.0%}/{config.test_fraction:.0%} "
                 f"split per seed ({len(ds.texts) - n_test}/{n_test}); Brier (multiclass) and top-label ECE on "
                 "the held-out part, no recalibration.")
        notes = {"models": {"model": MODEL_DESCRIPTION, "baseline": BASELINE_DESCRIPTION}, "data": str(path),
                 "data_checksums": checksums, "seconds": round(time.perf_counter() - t0, 1),
                 "reliability_plot": f"docs/{RELIABILITY_PNG}"}
        doc = results_document("text", self.name, title="Complaint classifier (Symptom2Disease)", split=split,
                               seeds=list(seeds), primary="model",
                               metrics=["accuracy", "macro_f1", "brier", "ece"], per_seed=per_seed, notes=notes)
        write_results(doc)
        folder = Path(os.environ.get("MEDKG_RESULTS_DIR") or RESULTS_DIR)
        reliability_plot({n: (np.concatenate([p for p, _ in v]), np.concatenate([y for _, y in v]))
                          for n, v in pooled.items()}, folder.parent / RELIABILITY_PNG,
                         "Complaint classifier: top-label reliability (held-out)")
        docs = [doc]
        if config.zero_shot:
            docs.append(self._zero_shot(ds, whole, seeds))
        return docs

    def _zero_shot(self, ds, whole, seeds: list[int]) -> dict[str, Any]:
        from gnn.pipeline.results import results_document, write_results
        from gnn.text.classifier import zero_shot

        zs = zero_shot(ds.labels, whole, ds.texts)
        rows = {"label text only": zs["label_text"], "+ DO names": zs["ontology_names"],
                "+ DO names and definitions": zs["ontology_names_definitions"]}
        per_seed = {name: [r] for name, r in rows.items()}
        per_seed["chance"] = [{"whole_text": zs["chance"], "max_over_sentences": zs["chance"]}]
        doc = results_document(
            "text-zeroshot", self.name, title="Zero-shot complaint labelling", seeds=list(seeds),
            split=f"All {zs['n']} complaints, no training (deterministic: one evaluation, whatever the seeds).",
            primary="+ DO names and definitions", metrics=["whole_text", "max_over_sentences"], per_seed=per_seed,
            notes={"mapped_to_do": zs["mapped_to_do"]})
        write_results(doc)
        return doc

    def load(self, run: str | Path | None = None, artifacts: Path | None = None) -> Any:
        from gnn.text.classifier import ComplaintClassifier

        man = self.store(artifacts).manifest(run)
        clf = ComplaintClassifier.load(Path(man.folder))
        clf.meta = {**clf.meta, "model_run": man.model_run}
        return clf

    def predict(self, args: argparse.Namespace) -> dict[str, Any]:
        from gnn.text.classify_file import classify_file

        art = Path(args.artifacts) if getattr(args, "artifacts", None) else None
        return classify_file(Path(args.input), Path(args.output), self.load(getattr(args, "run", None), art))

    def tiny_config(self, artifacts: Path, workdir: Path) -> FamilyConfig:
        """48 complaints of 4 labels from the real data (the encoder runs; a few seconds)."""
        import csv

        from gnn.text.symptom2disease import load

        ds = load()
        path = workdir / "s2d_tiny.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["label", "text"])
            for label in ("Psoriasis", "Malaria", "Migraine", "urinary tract infection"):
                for i in [i for i, y in enumerate(ds.labels) if y == label][:12]:
                    w.writerow([label, ds.texts[i]])
        return TextConfig(artifacts=artifacts, data=str(path), test_fraction=0.25, zero_shot=False, threads=1)

    def tiny_predict_args(self, run_dir: Path, workdir: Path) -> argparse.Namespace:
        inp = workdir / "complaints.csv"
        inp.write_text('text\n"I get frequent headaches and my vision is blurred"\n"It burns when I pee"\n')
        return argparse.Namespace(run=str(run_dir), input=inp, output=workdir / "labels.jsonl", artifacts=None,
                                  json=True)
