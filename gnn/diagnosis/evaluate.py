"""Nested cross-validated evaluation: attention model, its graph ensemble, the graph baseline and logistic
regression, with calibration and the thresholded differential a user actually gets.

Outer split: patient-level stratified K-fold over patients_sample.csv, repeated for several seeds; each test
patient is scored with all its findings and with half of them removed at random (fixed seed per split).
Inner split: on each outer training part only, an inner K-fold gives out-of-fold scores from which the
ensemble's graph weight and clip (by log-loss of the true pathology) and each model's differential threshold
(by mean F1 against the reference differential) are chosen. The outer test part is scored once, with the
recipe fixed before it is seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
WEIGHT_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)  # graph weight of the ensemble, chosen on inner folds
CLIP_GRID = (2.0, 5.0, 10.0)
THRESHOLD_GRID = tuple(float(t) for t in np.round(np.geomspace(0.002, 0.5, 41), 4))


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


def _reference_sets(rows: list[PatientRow], kb: Knowledge) -> list[set[int]]:
    return [{kb.index[n] for n, _ in row.differential or []} for row in rows]


def differential_f1(probs: np.ndarray, rows: list[PatientRow], kb: Knowledge) -> float:
    """Oracle-sized differential: mean F1 between the model's top-k and the reference differential, k = its
    length (so precision = recall). It is told the answer's size; `thresholded_differential` is not."""
    order = np.argsort(-probs, axis=1, kind="stable")
    scores = []
    for r, ref in enumerate(_reference_sets(rows, kb)):
        if ref:
            pred = set(order[r, : len(ref)].tolist())
            scores.append(len(pred & ref) / len(ref))
    return float(np.mean(scores))


def differential_sets(probs: np.ndarray, threshold: float) -> list[set[int]]:
    """What a user gets: every pathology with probability ≥ threshold (at least the most likely one)."""
    out = []
    for p in probs:
        chosen = set(np.flatnonzero(p >= threshold).tolist())
        out.append(chosen or {int(p.argmax())})
    return out


def thresholded_differential(probs: np.ndarray, refs: list[set[int]], threshold: float) -> dict[str, float]:
    """Mean per-patient precision, recall, F1 and size of the thresholded differential vs the reference."""
    prec, rec, f1, size = [], [], [], []
    for pred, ref in zip(differential_sets(probs, threshold), refs, strict=True):
        if not ref:
            continue
        hit = len(pred & ref)
        p, r = hit / len(pred), hit / len(ref)
        prec.append(p)
        rec.append(r)
        f1.append(2 * p * r / (p + r) if hit else 0.0)
        size.append(len(pred))
    return {"dx_precision": float(np.mean(prec)), "dx_recall": float(np.mean(rec)), "dx_f1": float(np.mean(f1)),
            "dx_size": float(np.mean(size))}


def choose_threshold(probs: np.ndarray, refs: list[set[int]]) -> float:
    """The grid threshold with the best mean differential F1 (smallest threshold on ties)."""
    best = max(THRESHOLD_GRID, key=lambda t: (thresholded_differential(probs, refs, t)["dx_f1"], -t))
    return float(best)


def _softmax(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def ensemble(logits: np.ndarray, graph_log: np.ndarray, weight: float, clip: float) -> np.ndarray:
    return _softmax(logits + graph_bonus(graph_log, weight, clip))


def choose_weights(logits: np.ndarray, graph_log: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(graph weight, clip) minimising the mean negative log-probability of the true pathology."""
    def nll(w: float, c: float) -> float:
        p = ensemble(logits, graph_log, w, c)[np.arange(len(y)), y]
        return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())

    return min(((w, c) for w in WEIGHT_GRID for c in CLIP_GRID), key=lambda wc: (round(nll(*wc), 6), wc[0]))


def _multi_hot(patients: list[Patient], vocab: Vocab) -> np.ndarray:
    x = np.zeros((len(patients), len(vocab.tokens)), dtype=np.float32)
    for r, p in enumerate(patients):
        x[r, vocab.encode(p)] = 1.0
    return x


def _strata(y: np.ndarray, folds: int) -> np.ndarray:
    # StratifiedKFold needs ≥ folds members per class; rarer classes are spread by their own order.
    return np.where(np.bincount(y)[y] >= folds, y, -1)


@dataclass
class FoldModels:
    """Models fitted on one training part: attention logits and logistic-regression probabilities."""

    model: torch.nn.Module
    lr: LogisticRegression
    vocab: Vocab
    n_classes: int

    @classmethod
    def fit(cls, train: list[PatientRow], kb: Knowledge, cfg: ModelConfig, vocab: Vocab) -> FoldModels:
        model = build_model(vocab, len(kb.pathologies), cfg)
        train_model(model, [vocab.encode(r.patient) for r in train], soft_targets(train, kb, cfg.soft_mix), cfg)
        y = np.array([kb.index[r.pathology] for r in train])
        lr = LogisticRegression(C=1.0, max_iter=500, tol=1e-3).fit(_multi_hot([r.patient for r in train], vocab), y)
        return cls(model, lr, vocab, len(kb.pathologies))

    def logits(self, patients: list[Patient]) -> np.ndarray:
        return predict_logits(self.model, [self.vocab.encode(p) for p in patients]).astype(np.float64)

    def logreg(self, patients: list[Patient]) -> np.ndarray:
        lp = np.zeros((len(patients), self.n_classes))
        lp[:, self.lr.classes_] = self.lr.predict_proba(_multi_hot(patients, self.vocab))
        return lp


@dataclass
class Recipe:
    """What the inner folds chose: ensemble weights and each model's differential threshold."""

    graph_weight: float = GRAPH_WEIGHT
    graph_clip: float = GRAPH_CLIP
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"graph_weight": self.graph_weight, "graph_clip": self.graph_clip, "thresholds": self.thresholds}


def all_scores(fitted: FoldModels, patients: list[Patient], graph: GraphBaseline,
               recipe: Recipe) -> dict[str, np.ndarray]:
    logits = fitted.logits(patients)
    g = graph.log_scores([p.evidences for p in patients])
    return {"attention+graph": ensemble(logits, g, recipe.graph_weight, recipe.graph_clip),
            "attention": _softmax(logits), "graph": _softmax(g), "logreg": fitted.logreg(patients)}


def choose_recipe(rows: list[PatientRow], kb: Knowledge, cfg: ModelConfig, graph: GraphBaseline, vocab: Vocab,
                  folds: int = 2, seed: int = 0, progress: bool = False) -> Recipe:
    """Inner cross-fitting on `rows` only: out-of-fold scores -> ensemble weights, then thresholds."""
    y = np.array([kb.index[r.pathology] for r in rows])
    rng = np.random.default_rng(20_000 + seed)
    patients = [r.patient for r in rows]
    halves = [halve(p, rng) for p in patients]
    logits = np.zeros((2 * len(rows), len(kb.pathologies)))
    logreg = np.zeros((len(rows), len(kb.pathologies)))
    inner = StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, _strata(y, folds))
    for tr, te in tqdm(list(inner), desc="recipe (inner folds)", disable=not progress, leave=False):
        fitted = FoldModels.fit([rows[i] for i in tr], kb, cfg, vocab)
        logits[te] = fitted.logits([patients[i] for i in te])
        logits[len(rows) + te] = fitted.logits([halves[i] for i in te])
        logreg[te] = fitted.logreg([patients[i] for i in te])
    g = graph.log_scores([p.evidences for p in [*patients, *halves]])
    weight, clip = choose_weights(logits, g, np.concatenate([y, y]))
    n = len(rows)
    oof = {"attention+graph": ensemble(logits[:n], g[:n], weight, clip), "attention": _softmax(logits[:n]),
           "graph": _softmax(g[:n]), "logreg": logreg}
    refs = _reference_sets(rows, kb)
    return Recipe(weight, clip, {m: choose_threshold(p, refs) for m, p in oof.items()})


@dataclass
class SplitResult:
    seed: int
    fold: int
    recipe: Recipe
    test: np.ndarray
    metrics: dict[str, dict[str, float]]
    probs: dict[str, np.ndarray]  # held-out probabilities, all findings


def cross_validate(
    rows: list[PatientRow], kb: Knowledge, cfg: ModelConfig, seeds: tuple[int, ...] = (0, 1, 2), folds: int = 5,
    inner_folds: int = 2, progress: bool = True, on_split: Callable[[SplitResult], None] | None = None,
) -> list[SplitResult]:
    """Nested CV: per outer split, the recipe from inner folds of the training part, then one test score."""
    vocab = Vocab.from_knowledge(kb)
    graph = GraphBaseline(kb.links, kb.evidences)
    y_all = np.array([kb.index[r.pathology] for r in rows])
    splits = [(s, f, tr, te) for s in seeds for f, (tr, te) in
              enumerate(StratifiedKFold(folds, shuffle=True, random_state=s).split(rows, _strata(y_all, folds)))]
    out: list[SplitResult] = []
    for seed, fold, tr, te in tqdm(splits, desc="nested cv", disable=not progress):
        fold_cfg = ModelConfig(**{**cfg.to_dict(), "seed": seed})
        train = [rows[i] for i in tr]
        recipe = choose_recipe(train, kb, fold_cfg, graph, vocab, inner_folds, seed=100 * seed + fold)
        fitted = FoldModels.fit(train, kb, fold_cfg, vocab)
        rng = np.random.default_rng(10_000 + 100 * seed + fold)
        test = [rows[i] for i in te]
        refs = _reference_sets(test, kb)
        sets = {"all": [r.patient for r in test], "half": [halve(r.patient, rng) for r in test]}
        scored = {name: all_scores(fitted, patients, graph, recipe) for name, patients in sets.items()}
        y = y_all[te]
        metrics: dict[str, dict[str, float]] = {}
        for m in MODELS:
            met: dict[str, float] = {}
            for name in sets:
                probs = scored[name][m]
                met.update({f"{k}_{name}": v for k, v in topk_accuracy(probs, y).items()})
                met[f"f1_{name}"] = differential_f1(probs, test, kb)
                met.update({f"{k}_{name}": v for k, v in
                            thresholded_differential(probs, refs, recipe.thresholds[m]).items()})
            metrics[m] = met
        res = SplitResult(seed, fold, recipe, np.asarray(te), metrics, {m: scored["all"][m] for m in MODELS})
        out.append(res)
        if on_split:
            on_split(res)
    return out


def per_seed_metrics(results: list[SplitResult], y_all: np.ndarray) -> dict[str, list[dict[str, float]]]:
    """{model: [metrics of one seed]}: fold means of the ranking metrics; Brier and top-label ECE on the
    seed's pooled held-out probabilities (every patient held out once per seed)."""
    from gnn.pipeline.calibration import brier, ece

    out: dict[str, list[dict[str, float]]] = {m: [] for m in MODELS}
    for seed in dict.fromkeys(r.seed for r in results):
        mine = [r for r in results if r.seed == seed]
        idx = np.concatenate([r.test for r in mine])
        for m in MODELS:
            keys = mine[0].metrics[m].keys()
            row = {k: float(np.mean([r.metrics[m][k] for r in mine])) for k in keys}
            probs = np.concatenate([r.probs[m] for r in mine])
            row["brier_all"] = brier(probs, y_all[idx])
            row["ece_all"] = ece(probs, y_all[idx])
            out[m].append(row)
    return out
