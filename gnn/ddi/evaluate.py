"""`medkg evaluate ddi`: the three tasks over seeds, each beside simple baselines in the same run; writes
docs/results/ddi-type.json, ddi-severity.json and ddi-any.json. Design choices were made on validation
splits; the test part of each split is scored once per seed."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

TYPE_METRICS = ["accuracy", "macro_f1", "kappa", "brier", "ece"]
SEV_METRICS = ["macro_f1", "major_recall", "major_precision", "accuracy", "brier", "ece", "major_brier", "major_ece"]
ANY_METRICS = ["auroc", "auprc", "brier", "ece"]


def _type_seed(p, cfg, seed: int, rows: dict, notes: dict, progress: bool) -> None:
    from gnn.ddi.tasks import (
        drug_split,
        frequency_baseline,
        frequency_proba,
        multiclass_metrics,
        pair_split,
        train_type,
    )

    pt, n = p.pt, len(p.drugs)
    for split in ("pair", "drug"):
        tr, va, te = (pair_split(len(pt.y), seed) if split == "pair" else drug_split(pt.d1, pt.d2, seed))
        notes[f"{split} split sizes (seed {seed})"] = {"train": len(tr), "validation": len(va), "test": len(te)}
        a, b, y = pt.d1[te], pt.d2[te], pt.y[te]
        m = train_type(pt.d1, pt.d2, pt.y, p.graph, tr, va, cfg, seed, progress=progress, desc=f"type {split}")
        rows[f"profile MLP · {split} split"].append(multiclass_metrics(m.proba(a, b), y))
        notes[f"{split} split logit adjustment tau, chosen on validation (seed {seed})"] = m.tau
        freq = frequency_baseline(n, pt.d1, pt.d2, pt.y, tr)
        rows[f"per-drug frequency · {split} split"].append(multiclass_metrics(frequency_proba(freq, a, b), y))
        f = train_type(pt.d1, pt.d2, pt.y, p.graph, tr, va, cfg, seed, use_profile=False, progress=progress,
                       desc=f"feature MLP {split}")
        rows[f"feature MLP · {split} split"].append(multiclass_metrics(f.proba(a, b), y))


def _type_majority(keys: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
    """Per-type majority: p(grade | the pair's first known type) from the training pairs (Laplace-smoothed)."""
    table = np.ones((keys.max() + 1, 3))
    np.add.at(table, (keys[tr], y[tr]), 1)
    prob = table / table.sum(axis=1, keepdims=True)
    return prob[keys[te]]


def _severity_seed(p, cfg, seed: int, rows: dict, notes: dict, progress: bool) -> None:
    from gnn.ddi.family import _sev_types
    from gnn.ddi.tasks import drug_split, pair_split, severity_metrics, train_severity

    t = _sev_types(p)
    keys = t.argmax(axis=1)  # the first known type, or 86 = no known mechanism
    for split in ("pair", "drug"):
        tr, va, te = pair_split(len(p.gy), seed) if split == "pair" else drug_split(p.ga, p.gb, seed)
        m = train_severity(p.ga, p.gb, p.gy, t, p.graph, tr, va, cfg, seed, progress=progress)
        prob = m.proba(p.ga[te], p.gb[te], t[te])
        met = severity_metrics(prob, p.gy[te], m.threshold)
        met["major_threshold"] = float(m.threshold or 0)
        rows[f"MLP · {split} split"].append(met)
        base = _type_majority(keys, p.gy, tr, te)
        rows[f"per-type majority · {split} split"].append(severity_metrics(base, p.gy[te], None))
        notes[f"{split} split sizes (seed {seed})"] = {"train": len(tr), "validation": len(va), "test": len(te)}


def _any_seed(p, cfg, seed: int, rows: dict, notes: dict, progress: bool) -> None:
    from gnn.ddi.family import any_examples
    from gnn.ddi.tasks import binary_metrics, pair_split, train_any
    from gnn.pipeline.calibration import apply_platt, fit_platt

    a, b, y = any_examples(p, seed)
    tr, va, te = pair_split(len(y), seed)
    m = train_any(a, b, y, p.graph, tr, va, cfg, seed, progress=progress)
    rows["MLP"].append(binary_metrics(m.proba(a[te], b[te]), y[te]))
    pos = tr[y[tr] == 1]
    deg = np.bincount(np.concatenate([a[pos], b[pos]]), minlength=len(p.drugs)).astype(np.float64)

    def score(i):
        return np.log1p(deg[a[i]]) + np.log1p(deg[b[i]])

    pa, pb = fit_platt(score(va), y[va])
    rows["degree product"].append(binary_metrics(apply_platt(score(te), pa, pb), y[te]))
    notes[f"sizes (seed {seed})"] = {"train": len(tr), "validation": len(va), "test": len(te),
                                     "positives": int(y.sum())}


def evaluate_all(family, cfg, seeds: list[int], *, progress: bool = True) -> list[dict[str, Any]]:
    import torch

    from gnn.ddi.family import prepare
    from gnn.pipeline.results import results_document, write_results

    torch.set_num_threads(max(1, cfg.threads))
    type_rows: dict[str, list] = defaultdict(list)
    sev_rows: dict[str, list] = defaultdict(list)
    any_rows: dict[str, list] = defaultdict(list)
    tn: dict[str, Any] = {}
    sn: dict[str, Any] = {}
    an: dict[str, Any] = {}
    build = None
    tasks = {t.strip() for t in cfg.tasks.split(",") if t.strip()}
    unknown = tasks - {"type", "severity", "any"}
    if unknown:
        from kg.errors import ConfigError

        raise ConfigError(f"--tasks: unknown task(s) {', '.join(sorted(unknown))}; known: type, severity, any")
    for seed in seeds:
        p = prepare(cfg, seed)
        build = p.facts.build_id
        if "type" in tasks:
            _type_seed(p, cfg, seed, type_rows, tn, progress)
        if "severity" in tasks:
            _severity_seed(p, cfg, seed, sev_rows, sn, progress)
        if "any" in tasks:
            _any_seed(p, cfg, seed, any_rows, an, progress)
    cfgd = cfg.to_dict()
    tn["config"] = sn["config"] = an["config"] = cfgd
    docs = [
        results_document("ddi-type", family.name, title="DDI type (86 DrugBank types) of an ordered pair",
                         split="ddi.tsv pairs; pair split 80/10/10 by pair; drug split: 10 % / 10 % of drugs held "
                               "out for validation / test, test pairs join one held-out drug and one training "
                               "drug. Features from training pairs only; test scored once.",
                         seeds=seeds, primary="profile MLP · pair split", metrics=TYPE_METRICS,
                         per_seed=type_rows, build_id=build, notes=tn),
        results_document("ddi-severity", family.name, title="Estimated severity (Major/Moderate/Minor) of a pair",
                         split="DDInter-graded pairs of DrugBank drugs (the worst grade where a pair has several); "
                               "pair split 80/10/10; drug split as for the type model. Major when p(Major) >= the "
                               "validation threshold reaching 0.90 Major recall.",
                         seeds=seeds, primary="MLP · pair split", metrics=SEV_METRICS, per_seed=sev_rows,
                         build_id=build, notes=sn),
        results_document("ddi-any", family.name, title="Probability that an uncovered pair interacts",
                         split="known pairs (86-type or DDInter-graded) against as many uniformly sampled unknown "
                               "pairs of the same drugs, split 80/10/10; Platt-calibrated on validation at this 1:1 "
                               "ratio (the real share of interacting pairs is lower).",
                         seeds=seeds, primary="MLP", metrics=ANY_METRICS, per_seed=any_rows, build_id=build,
                         notes=an),
    ]
    docs = [d for d, task in zip(docs, ("type", "severity", "any"), strict=True) if task in tasks]
    for d in docs:
        write_results(d)
    return docs


def merge_seed_results(paths: list[str | Path], out_dir: Path | None = None) -> dict[str, Any]:
    """Merge results files of the same name written by single-seed runs (`medkg evaluate ddi --seeds S`, run
    side by side on a busy machine) into one document with every seed; per-seed values are kept as written."""
    import json

    from gnn.pipeline.results import summarise, write_results

    docs = [json.loads(Path(p).read_text()) for p in paths]
    base = dict(docs[0])
    base["seeds"] = [s for d in docs for s in d["seeds"]]
    base["command"] = " + ".join(d["command"] for d in docs) + " (single-seed runs side by side, merged)"
    models: dict[str, dict[str, Any]] = {}
    for model in base["models"]:
        models[model] = {}
        for metric in base["models"][model]:
            vals = [v for d in docs for v in d["models"][model][metric]["per_seed"]]
            models[model][metric] = summarise(vals)
    base["models"] = models
    base["notes"] = {k: v for d in docs for k, v in d["notes"].items()}
    write_results(base, out_dir)
    return base
