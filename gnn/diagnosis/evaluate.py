"""Cross-validated evaluation: attention model, its graph ensemble, the graph baseline and logistic regression.

Split: patient-level stratified K-fold over patients_sample.csv, repeated for several seeds. Each test
patient is scored with all its findings and with half of them removed at random (fixed seed per split).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from gnn.diagnosis.baseline import GRAPH_CLIP, GRAPH_WEIGHT, GraphBaseline, graph_bonus
from gnn.diagnosis.findings import Patient
from gnn.diagnosis.knowledge import Knowledge
from gnn.diagnosis.model import ModelConfig, build_model, predict_logits, train_model
from gnn.diagnosis.patients import PatientRow
from gnn.diagnosis.vocab import Vocab

MODELS = ("attention+graph", "attention", "graph", "logreg")


def soft_targets(rows: list[PatientRow], kb: Knowledge, mix: float) -> np.ndarray:
    """(1 - mix) * one-hot(true pathology) + mix * the reference differential (normalised)."""
    idx = kb.index
    y = np.zeros((len(rows), len(kb.pathologies)))
    for r, row in enumerate(rows):
        y[r, idx[row.pathology]] += 1.0 - mix
        diff = row.differential or [(row.pathology, 1.0)]
        total = sum(p for _, p in diff) or 1.0
        for name, p in diff:
            y[r, idx[name]] += mix * p / total
    return y


def halve(patient: Patient, rng: np.random.Generator) -> Patient:
    """The same patient with floor(n/2) of its findings removed at random (at least one kept)."""
    n = len(patient.findings)
    keep = sorted(rng.permutation(n)[: max(1, n - n // 2)])
    return Patient(patient.age, patient.sex, [patient.findings[i] for i in keep], list(patient.unrecognised))


def topk_accuracy(probs: np.ndarray, y: np.ndarray, ks: tuple[int, ...] = (1, 3, 5)) -> dict[str, float]:
    order = np.argsort(-probs, axis=1, kind="stable")
    return {f"top{k}": float((order[:, :k] == y[:, None]).any(axis=1).mean()) for k in ks}


def differential_f1(probs: np.ndarray, rows: list[PatientRow], kb: Knowledge) -> float:
    """Mean F1 between the model's top-k and the reference differential, k = its length (= precision = recall)."""
    order = np.argsort(-probs, axis=1, kind="stable")
    scores = []
    for r, row in enumerate(rows):
        ref = {n for n, _ in row.differential or []}
        if ref:
            pred = {kb.pathologies[j] for j in order[r, : len(ref)]}
            scores.append(len(pred & ref) / len(ref))
    return float(np.mean(scores))


def _softmax(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def _multi_hot(patients: list[Patient], vocab: Vocab) -> np.ndarray:
    x = np.zeros((len(patients), len(vocab.tokens)), dtype=np.float32)
    for r, p in enumerate(patients):
        x[r, vocab.encode(p)] = 1.0
    return x


def fold_scores(
    train: list[PatientRow], test_sets: dict[str, list[Patient]], kb: Knowledge, cfg: ModelConfig,
    graph: GraphBaseline, vocab: Vocab,
) -> dict[str, dict[str, np.ndarray]]:
    """Probabilities [N, P] per model per test set, after fitting on `train`."""
    out: dict[str, dict[str, np.ndarray]] = {m: {} for m in MODELS}
    model = build_model(vocab, len(kb.pathologies), cfg)
    train_model(model, [vocab.encode(r.patient) for r in train], soft_targets(train, kb, cfg.soft_mix), cfg)
    y = np.array([kb.index[r.pathology] for r in train])
    lr = LogisticRegression(C=1.0, max_iter=500, tol=1e-3).fit(_multi_hot([r.patient for r in train], vocab), y)
    for name, patients in test_sets.items():
        logits = predict_logits(model, [vocab.encode(p) for p in patients])
        g = graph.log_scores([p.evidences for p in patients])
        out["attention"][name] = _softmax(logits)
        out["attention+graph"][name] = _softmax(logits + graph_bonus(g))
        out["graph"][name] = _softmax(g)
        lp = np.zeros((len(patients), len(kb.pathologies)))
        lp[:, lr.classes_] = lr.predict_proba(_multi_hot(patients, vocab))
        out["logreg"][name] = lp
    return out


def cross_validate(
    rows: list[PatientRow], kb: Knowledge, cfg: ModelConfig, seeds: tuple[int, ...] = (0, 1, 2), folds: int = 5,
    progress: bool = True, on_split: Callable[[dict], None] | None = None,
) -> dict:
    """Metrics per model (mean ± sd over seeds × folds) and the per-split values."""
    torch.set_num_threads(1)  # the machine is shared; 1 thread is as fast for this size
    vocab = Vocab.from_knowledge(kb)
    graph = GraphBaseline(kb.links, kb.evidences)
    y_all = np.array([kb.index[r.pathology] for r in rows])
    # StratifiedKFold needs ≥ folds members per class; rarer classes are spread by their own order.
    strata = np.where(np.bincount(y_all)[y_all] >= folds, y_all, -1)
    splits = [(s, f, tr, te) for s in seeds
              for f, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=s).split(rows, strata))]
    per_split: list[dict] = []
    t0 = time.perf_counter()
    for seed, fold, tr, te in tqdm(splits, desc="cv", disable=not progress):
        rng = np.random.default_rng(10_000 + 100 * seed + fold)
        test = [rows[i] for i in te]
        sets = {"all": [r.patient for r in test], "half": [halve(r.patient, rng) for r in test]}
        scores = fold_scores([rows[i] for i in tr], sets, kb, ModelConfig(**{**cfg.to_dict(), "seed": seed}),
                             graph, vocab)
        y = y_all[te]
        rec = {"seed": seed, "fold": fold, "n_train": len(tr), "n_test": len(te), "metrics": {}}
        for m, by_set in scores.items():
            met = {}
            for name, probs in by_set.items():
                met.update({f"{k}_{name}": v for k, v in topk_accuracy(probs, y).items()})
                met[f"f1_{name}"] = differential_f1(probs, test, kb)
            rec["metrics"][m] = met
        per_split.append(rec)
        if on_split:
            on_split(rec)
    summary = {}
    for m in MODELS:
        keys = per_split[0]["metrics"][m].keys()
        summary[m] = {k: {"mean": float(np.mean([s["metrics"][m][k] for s in per_split])),
                          "sd": float(np.std([s["metrics"][m][k] for s in per_split], ddof=1))} for k in keys}
    return {
        "split": f"patient-level stratified {folds}-fold CV × seeds {list(seeds)} over {len(rows)} patients; "
                 "'half' = floor(n/2) findings removed at random per test patient (seeded per split)",
        "ensemble": {"graph_weight": GRAPH_WEIGHT, "graph_clip": GRAPH_CLIP},
        "config": cfg.to_dict(),
        "seconds": round(time.perf_counter() - t0, 1),
        "summary": summary,
        "splits": per_split,
    }
