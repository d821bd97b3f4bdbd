"""Complaint → Symptom2Disease label: logistic regression on [TF-IDF words, encoder vectors].

Features: sublinear TF-IDF of words, the whole-complaint vector and the mean of its sentence vectors
(both scaled by `EMB_WEIGHT`). Saved as plain arrays (npz + json), no pickle.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from gnn.artifacts_io import ArtefactBatch
from kg.errors import ConfigError
from kg.settings import get_settings

C = 100.0
EMB_WEIGHT = 0.5
BASELINE_C = 10.0
MAX_ITER = 5000
TEST_FRACTION = 0.2
EVAL_SEEDS = (1000, 1001, 1002, 1003, 1004)
MODEL_NAME = "symptom2disease"


def model_dir() -> Path:
    return get_settings().medkg_artifacts / "text" / MODEL_NAME


def cache_path() -> Path:
    return get_settings().medkg_artifacts / "text" / "cache" / "complaint-embeddings.npz"


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

    def save(self, folder: Path) -> Path:
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        meta = {**self.meta, "classes": self.classes, "c": C, "emb_weight": EMB_WEIGHT}
        with ArtefactBatch() as out:  # both files replace the previous classifier together, or neither does
            out.npz(folder / "model.npz", idf=self.idf, coef=self.coef, intercept=self.intercept,
                    terms=np.array(terms))
            out.json(folder / "meta.json", meta, indent=2, default=str)
        return folder

    @classmethod
    def load(cls, folder: Path | None = None) -> ComplaintClassifier:
        folder = folder or model_dir()
        if not (folder / "model.npz").exists() or not (folder / "meta.json").exists():
            raise ConfigError(f"no trained complaint classifier in {folder}: run `medkg text train` first")
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "model.npz") as z:
            terms = z["terms"].tolist()
            return cls(list(meta["classes"]), {t: i for i, t in enumerate(terms)}, z["idf"], z["coef"],
                       z["intercept"], meta)


def _stack(words, whole: np.ndarray, mean: np.ndarray):
    dense = np.hstack([whole, mean]).astype(np.float64) * EMB_WEIGHT
    return sp.hstack([words, sp.csr_matrix(dense)]).tocsr()


def baseline_predict(train_texts: list[str], train_labels: list[str], test_texts: list[str]) -> list[str]:
    """TF-IDF (sublinear, words) + logistic regression (C=10): the named simple baseline."""
    vec = _tfidf()
    model = _lr(BASELINE_C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(vec.fit_transform(train_texts), train_labels)
    return [str(x) for x in model.predict(vec.transform(test_texts))]


def _summary(values: list[float]) -> dict:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "sd": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "per_seed": [round(float(v), 4) for v in arr]}


def evaluate(texts: list[str], labels: list[str], whole: np.ndarray, mean: np.ndarray,
             seeds: tuple[int, ...] = EVAL_SEEDS, test_fraction: float = TEST_FRACTION) -> dict:
    """Accuracy and macro-F1 of the model and the baseline on the same stratified splits, per seed."""
    from sklearn.metrics import accuracy_score, f1_score

    from gnn.text.symptom2disease import stratified_split

    y = np.asarray(labels)
    t = np.asarray(texts, dtype=object)
    res: dict[str, dict[str, list[float]]] = {"model": {"accuracy": [], "macro_f1": []},
                                              "baseline": {"accuracy": [], "macro_f1": []}}
    sizes = []
    for seed in seeds:
        tr, te = stratified_split(labels, test_fraction, seed)
        sizes.append((len(tr), len(te)))
        clf = ComplaintClassifier.fit(list(t[tr]), list(y[tr]), whole[tr], mean[tr])
        preds = {"model": clf.predict(list(t[te]), whole[te], mean[te]),
                 "baseline": baseline_predict(list(t[tr]), list(y[tr]), list(t[te]))}
        for name, p in preds.items():
            res[name]["accuracy"].append(accuracy_score(y[te], p))
            res[name]["macro_f1"].append(f1_score(y[te], p, average="macro"))
    return {
        "seeds": list(seeds), "test_fraction": test_fraction, "train_size": sizes[0][0], "test_size": sizes[0][1],
        "model": {k: _summary(v) for k, v in res["model"].items()},
        "baseline": {k: _summary(v) for k, v in res["baseline"].items()},
        "model_name": f"LR(C={C:g}) on TF-IDF words + {EMB_WEIGHT:g}*[MiniLM text, MiniLM sentence-mean]",
        "baseline_name": f"LR(C={BASELINE_C:g}) on TF-IDF words (sublinear)",
    }


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


def run_evaluation(progress: bool = True, seeds: tuple[int, ...] = EVAL_SEEDS) -> dict:
    """Load Symptom2Disease, encode (cached), evaluate model vs baseline, and zero-shot."""
    from gnn.text.features import encode_complaints
    from gnn.text.symptom2disease import default_path, load

    started = time.perf_counter()
    ds = load()
    whole, mean = encode_complaints(ds.texts, cache=cache_path(), progress=progress)
    report = evaluate(ds.texts, ds.labels, whole, mean, seeds=seeds)
    report["zero_shot"] = zero_shot(ds.labels, whole, ds.texts)
    report["data"] = {"path": str(default_path()), "rows_unique": len(ds.texts),
                      "duplicates_dropped": ds.duplicates_dropped, "classes": len(ds.classes)}
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def train(progress: bool = True, evaluate_first: bool = True) -> dict:
    """Evaluate, then fit on all of Symptom2Disease and save under artifacts/text/symptom2disease/."""
    from gnn.text.features import encode_complaints
    from gnn.text.symptom2disease import load

    report = run_evaluation(progress=progress) if evaluate_first else {}
    ds = load()
    whole, mean = encode_complaints(ds.texts, cache=cache_path(), progress=progress)
    clf = ComplaintClassifier.fit(ds.texts, ds.labels, whole, mean)
    clf.meta = {"trained_on": len(ds.texts), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "evaluation": report}
    folder = clf.save(model_dir())
    return {"model_dir": str(folder), "trained_on": len(ds.texts), "classes": len(clf.classes), **report}
