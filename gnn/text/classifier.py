"""Complaint → Symptom2Disease label: logistic regression on [TF-IDF words, encoder vectors].

Features: sublinear TF-IDF of words, the whole-complaint vector and the mean of its sentence vectors
(both scaled by `EMB_WEIGHT`). Saved as plain arrays (npz + json, no pickle) in a run folder of the
artefact store (gnn/text/family.py); evaluation is `TextFamily.evaluate` (`medkg evaluate text`).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from gnn.artifacts_io import ArtefactBatch
from kg.errors import ConfigError

C = 100.0
EMB_WEIGHT = 0.5
BASELINE_C = 10.0
MAX_ITER = 5000
TEST_FRACTION = 0.2
EVAL_SEEDS = (1000, 1001, 1002, 1003, 1004)
MODEL_NAME = "symptom2disease"
MODEL_DESCRIPTION = f"LR(C={C:g}) on TF-IDF words + {EMB_WEIGHT:g}*[MiniLM text, MiniLM sentence-mean]"
BASELINE_DESCRIPTION = f"LR(C={BASELINE_C:g}) on TF-IDF words (sublinear)"


def _tfidf():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True)


def _lr(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=MAX_ITER)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class ComplaintClassifier:
    """The fitted model as arrays: TF-IDF vocabulary and idf, LR weights, class names."""

    classes: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    meta: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, texts: list[str], labels: list[str], whole: np.ndarray, mean: np.ndarray,
            c: float = C) -> ComplaintClassifier:
        vec = _tfidf()
        words = vec.fit_transform(texts)
        model = _lr(c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(_stack(words, whole, mean), labels)
        vocab = {str(k): int(v) for k, v in vec.vocabulary_.items()}
        return cls([str(x) for x in model.classes_], vocab, vec.idf_.astype(np.float64),
                   model.coef_.astype(np.float64), model.intercept_.astype(np.float64))

    def _words(self, texts: list[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(sublinear_tf=True, vocabulary=self.vocabulary)
        vec.idf_ = self.idf
        return vec.transform(texts)

    def predict_proba(self, texts: list[str], whole: np.ndarray, mean: np.ndarray) -> np.ndarray:
        feats = _stack(self._words(texts), whole, mean)
        return _softmax(np.asarray(feats @ self.coef.T) + self.intercept)

    def predict(self, texts: list[str], whole: np.ndarray, mean: np.ndarray) -> list[str]:
        return [self.classes[i] for i in self.predict_proba(texts, whole, mean).argmax(axis=1)]

    def write_files(self, out: ArtefactBatch, folder: Path) -> None:
        """Add the classifier's files to a run folder being saved by the artefact store."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        meta = {**self.meta, "classes": self.classes, "c": C, "emb_weight": EMB_WEIGHT}
        out.npz(folder / "model.npz", idf=self.idf, coef=self.coef, intercept=self.intercept, terms=np.array(terms))
        out.json(folder / "meta.json", meta, indent=2, default=str)

    @classmethod
    def load(cls, folder: Path) -> ComplaintClassifier:
        """The files of one run folder; callers go through `TextFamily.load`, which checks the manifest."""
        if not (folder / "model.npz").exists() or not (folder / "meta.json").exists():
            raise ConfigError(f"text model run {folder} is incomplete (model.npz or meta.json missing): run "
                              "`medkg train text`")
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "model.npz") as z:
            terms = z["terms"].tolist()
            return cls(list(meta["classes"]), {t: i for i, t in enumerate(terms)}, z["idf"], z["coef"],
                       z["intercept"], meta)


def _stack(words, whole: np.ndarray, mean: np.ndarray):
    dense = np.hstack([whole, mean]).astype(np.float64) * EMB_WEIGHT
    return sp.hstack([words, sp.csr_matrix(dense)]).tocsr()


def baseline_proba(train_texts: list[str], train_labels: list[str], test_texts: list[str]
                   ) -> tuple[list[str], np.ndarray]:
    """TF-IDF (sublinear, words) + logistic regression (C=10), the named simple baseline: (classes, probs)."""
    vec = _tfidf()
    model = _lr(BASELINE_C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(vec.fit_transform(train_texts), train_labels)
    return [str(x) for x in model.classes_], model.predict_proba(vec.transform(test_texts))


def split_scores(texts: list[str], labels: list[str], whole: np.ndarray, mean: np.ndarray, seed: int,
                 test_fraction: float = TEST_FRACTION) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Held-out probabilities of the model and the baseline on one stratified split: {name: (probs, y)}
    with y the class index in the sorted class list (both models see every class in training)."""
    from gnn.text.symptom2disease import stratified_split

    y = np.asarray(labels)
    t = np.asarray(texts, dtype=object)
    tr, te = stratified_split(labels, test_fraction, seed)
    clf = ComplaintClassifier.fit(list(t[tr]), list(y[tr]), whole[tr], mean[tr])
    classes, base = baseline_proba(list(t[tr]), list(y[tr]), list(t[te]))
    if classes != clf.classes:
        raise ValueError("model and baseline were fitted on different classes")
    index = {c: i for i, c in enumerate(classes)}
    y_te = np.array([index[v] for v in y[te]])
    return {"model": (clf.predict_proba(list(t[te]), whole[te], mean[te]), y_te), "baseline": (base, y_te)}


def split_metrics(probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1, multiclass Brier and top-label ECE of held-out probabilities."""
    from sklearn.metrics import f1_score

    from gnn.pipeline.calibration import brier, ece

    pred = probs.argmax(axis=1)
    return {"accuracy": float((pred == y).mean()),
            "macro_f1": float(f1_score(y, pred, average="macro", labels=np.arange(probs.shape[1]))),
            "brier": brier(probs, y), "ece": ece(probs, y)}


def zero_shot(labels: list[str], whole: np.ndarray, texts: list[str], encoder=None) -> dict:
    """Zero-shot accuracy on all complaints: label text only, and label + Disease Ontology names/definitions."""
    from gnn.text.encoder import get_encoder
    from gnn.text.sentences import split_sentences
    from gnn.text.zeroshot import ZeroShot, label_descriptions, map_labels, read_do_terms

    enc = encoder or get_encoder()
    classes = sorted(set(labels))
    y = np.asarray(labels)
    out: dict = {"n": len(labels), "chance": 1 / len(classes)}
    mapped = map_labels(classes, read_do_terms())
    out["mapped_to_do"] = {k: (v["id"] if v else None) for k, v in mapped.items()}
    pieces, owner = [], []
    for i, t in enumerate(texts):
        for s in split_sentences(t) or [t]:
            pieces.append(s)
            owner.append(i)
    sent = enc.encode(pieces)
    owner_arr = np.asarray(owner)
    for name, kwargs in {"label_text": {"use_ontology": False},
                         "ontology_names": {"use_ontology": True, "definitions": False},
                         "ontology_names_definitions": {"use_ontology": True, "definitions": True}}.items():
        zs = ZeroShot(label_descriptions(classes, **kwargs), enc)
        acc_whole = float((np.asarray(zs.predict(whole)) == y).mean())
        s = zs.scores(sent)
        best = np.full((len(texts), len(zs.labels)), -2.0, dtype=np.float32)
        np.maximum.at(best, owner_arr, s)
        acc_sent = float((np.asarray(zs.labels)[best.argmax(axis=1)] == y).mean())
        out[name] = {"whole_text": acc_whole, "max_over_sentences": acc_sent}
    return out
