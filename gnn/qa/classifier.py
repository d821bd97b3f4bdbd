"""Intent classifier: logistic regression over MiniLM sentence embeddings of the masked question, word 1-2-gram
TF-IDF (keyword features), mention-type counts (with every label a mention could have: "plasmacytoma" reads as a
disease but may be a side effect) and the cue-word lexicon (`cues.py`: one feature per group of synonyms). Saved
as plain arrays (npz + json), no pickle."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gnn.qa.cues import cue_features

COUNT_WORDS = ("drugx", "diseasex", "findingx", "classx")
#: counts kept by `linker.mask` beside the masked words: mentions that could be each label, unknown runs
LABEL_COUNTS = ("can_drug", "can_disease", "can_symptom", "can_side_effect", "can_class", "unknownx")
EMB_WEIGHT = 1.0
CUE_WEIGHT = 1.0  # scale of the 0/1 cue features beside TF-IDF and the embedding (chosen on validation)


def type_features(counts: list[dict[str, int]], words: tuple[str, ...] = COUNT_WORDS) -> np.ndarray:
    """One-hot mention counts per type (0, 1, 2, 3+)."""
    out = np.zeros((len(counts), 4 * len(words)), dtype=np.float32)
    for i, c in enumerate(counts):
        for j, w in enumerate(words):
            out[i, 4 * j + min(3, c.get(w, 0))] = 1.0
    return out


@dataclass
class IntentClassifier:
    classes: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    use_encoder: bool
    threshold: float = 0.0  # below this top probability the question is treated as out of scope
    #: masked in-scope training questions' embeddings: a question far from all of them (cosine below
    #: `min_similarity`) is treated as out of scope
    in_scope: np.ndarray | None = None
    min_similarity: float = 0.0
    #: feature layout (older runs: the four masked-word counts, no cues)
    count_words: tuple[str, ...] = COUNT_WORDS
    cue_weight: float = 0.0
    #: a question with an out-of-scope cue (`cues.oos_cue`) is treated as out of scope below this top probability
    oos_cue_threshold: float = 0.0

    # -- features ------------------------------------------------------------------------------
    def _vectorizer(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, vocabulary=self.vocabulary,
                              token_pattern=r"(?u)\b\w+\b")
        vec.idf_ = self.idf
        return vec

    @staticmethod
    def features(texts: list[str], counts: list[dict[str, int]], vectorizer: Any, encoder: Any | None,
                 emb: np.ndarray | None = None, count_words: tuple[str, ...] = COUNT_WORDS,
                 cue_weight: float = 0.0) -> Any:
        from scipy import sparse

        parts = [vectorizer.transform(texts), sparse.csr_matrix(type_features(counts, count_words))]
        if cue_weight:
            parts.append(sparse.csr_matrix(cue_weight * cue_features(texts)))
        if encoder is not None:
            emb = encoder.encode(texts) if emb is None else emb
            parts.append(sparse.csr_matrix(EMB_WEIGHT * emb))
        return sparse.hstack(parts).tocsr()

    @classmethod
    def fit(cls, texts: list[str], counts: list[dict[str, int]], labels: list[str], encoder: Any | None,
            c: float = 4.0, seed: int = 0, cue_weight: float = CUE_WEIGHT, label_counts: bool = True
            ) -> IntentClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, token_pattern=r"(?u)\b\w+\b")
        vec.fit(texts)
        emb = encoder.encode(texts) if encoder is not None else None
        words = COUNT_WORDS + (LABEL_COUNTS if label_counts else ())
        x = cls.features(texts, counts, vec, encoder, emb, words, cue_weight)
        with threadpool_limits(1):  # a small problem: BLAS threads only contend (lbfgs 30x slower on a busy machine)
            lr = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(x, labels)
        ins = None if emb is None else emb[np.array([lab != "out_of_scope" for lab in labels])].astype(np.float32)
        return cls(list(lr.classes_), {k: int(v) for k, v in vec.vocabulary_.items()}, vec.idf_.astype(np.float64),
                   lr.coef_.astype(np.float64), lr.intercept_.astype(np.float64), encoder is not None, in_scope=ins,
                   count_words=words, cue_weight=cue_weight)

    def proba(self, texts: list[str], counts: list[dict[str, int]], encoder: Any | None) -> np.ndarray:
        return self.proba_similarity(texts, counts, encoder)[0]

    def proba_similarity(self, texts: list[str], counts: list[dict[str, int]], encoder: Any | None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Intent probabilities and each question's highest cosine to an in-scope training question (1 without
        the encoder)."""
        if self.use_encoder and encoder is None:
            raise ValueError("this intent classifier was trained with the text encoder; pass one")
        emb = encoder.encode(texts) if self.use_encoder else None
        x = self.features(texts, counts, self._vectorizer(), encoder if self.use_encoder else None, emb,
                          self.count_words, self.cue_weight)
        sim = np.ones(len(texts))
        if emb is not None and self.in_scope is not None and len(self.in_scope):
            sim = (emb @ self.in_scope.T).max(axis=1)
        return self._softmax(x), sim

    def _softmax(self, x: Any) -> np.ndarray:
        z = x @ self.coef.T + self.intercept
        if len(self.classes) == 2:  # sklearn's binary form: one column
            z = np.hstack([-z, z])
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    # -- files ---------------------------------------------------------------------------------
    def save(self, out: Any, folder: Path) -> None:
        ins = self.in_scope if self.in_scope is not None else np.zeros((0, 384), dtype=np.float32)
        out.npz(folder / "intent.npz", idf=self.idf, coef=self.coef, intercept=self.intercept, in_scope=ins)
        out.json(folder / "intent.json", {"classes": self.classes, "vocabulary": self.vocabulary,
                                          "use_encoder": self.use_encoder, "threshold": self.threshold,
                                          "oos_cue_threshold": self.oos_cue_threshold,
                                          "min_similarity": self.min_similarity,
                                          "count_words": list(self.count_words), "cue_weight": self.cue_weight})

    @classmethod
    def load(cls, folder: Path) -> IntentClassifier:
        meta = json.loads((folder / "intent.json").read_text())
        with np.load(folder / "intent.npz") as z:
            return cls(meta["classes"], meta["vocabulary"], z["idf"], z["coef"], z["intercept"], meta["use_encoder"],
                       float(meta["threshold"]), z["in_scope"], float(meta["min_similarity"]),
                       tuple(meta.get("count_words", COUNT_WORDS)), float(meta.get("cue_weight", 0.0)),
                       float(meta.get("oos_cue_threshold", 0.0)))
