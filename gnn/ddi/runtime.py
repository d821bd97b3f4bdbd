"""A trained ddi run in numpy (no torch): what `medkg predict ddi` and the API's interaction check use.

One run folder holds model.npz (per-drug first-layer tables and the small weight matrices of the three
models, per-drug type and grade counts for the explanation, the curated 86-type pairs) and meta.json
(drug ids, sentences, temperatures, the Major threshold, Platt parameters, run id)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gnn.ddi.data import N_TYPES, SEVERITIES
from gnn.ddi.model import np_logits, sigmoid, softmax
from kg.errors import ConfigError

PREFIXES = ("type", "sev", "any")
LABEL = "predicted, not from a source"


def split_weights(z: Any, prefix: str) -> dict[str, np.ndarray]:
    p = prefix + "_"
    return {k[len(p):]: z[k] for k in z.files if k.startswith(p)}


@dataclass
class DdiRuntime:
    model_run: str
    drugs: list[str]
    index: dict[str, int]
    templates: dict[int, str]
    type_w: dict[str, np.ndarray]
    sev_w: dict[str, np.ndarray]
    any_w: dict[str, np.ndarray]
    type_temperature: float
    sev_temperature: float
    major_threshold: float
    any_platt: tuple[float, float]
    type_counts: np.ndarray  # N x 172: per type, as drug1 then as drug2 (ddi.tsv orientation)
    grade_counts: np.ndarray  # N x 3: DDInter Major/Moderate/Minor partners
    in_profile: np.ndarray  # N bool: the drug is in the 86-type training pairs
    known_keys: np.ndarray  # sorted i * N + j (i < j) of the curated 86-type pairs
    known_rows: np.ndarray  # their 87-vectors: multi-hot of curated types (+ a 'none' column)

    @classmethod
    def load(cls, folder: Path) -> DdiRuntime:
        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text())
            z = np.load(folder / "model.npz")
        except (OSError, json.JSONDecodeError, ValueError) as exc:
            raise ConfigError(f"ddi model run {folder} is unreadable ({exc}); retrain with `medkg train ddi`") from exc
        with z:
            type_w, sev_w, any_w = (split_weights(z, p) for p in PREFIXES)
            kp = z["known_pairs"]
            counts, grades, inprof = z["type_counts"], z["grade_counts"], z["in_profile"].astype(bool)
        drugs = meta["drugs"]
        n = len(drugs)
        kp = kp.astype(np.int64)
        keys = np.minimum(kp[:, 0], kp[:, 1]) * n + np.maximum(kp[:, 0], kp[:, 1])
        uniq, inv = np.unique(keys, return_inverse=True)  # sorted unordered pairs, multi-hot of their types
        rows = np.zeros((len(uniq), N_TYPES + 1), np.float32)
        rows[inv, kp[:, 2]] = 1
        return cls(meta["model_run"], drugs, {d: i for i, d in enumerate(drugs)},
                   {int(k): v for k, v in meta["templates"].items()}, type_w, sev_w, any_w,
                   float(meta["type_temperature"]), float(meta["sev_temperature"]), float(meta["major_threshold"]),
                   tuple(meta["any_platt"]), counts, grades, inprof, uniq, rows)

    # -- batch predictions ----------------------------------------------------------------------------------
    def type_proba(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n, 86) type probabilities of ordered pairs (a, b) in ddi.tsv orientation."""
        return softmax(np_logits(self.type_w, a, b) / self.type_temperature)

    def pair_type_features(self, a: np.ndarray, b: np.ndarray, type_prob: np.ndarray | None = None) -> np.ndarray:
        """Curated types of each pair (multi-hot); pairs without one get their predicted type (one-hot)."""
        t = np.zeros((len(a), N_TYPES + 1), np.float32)
        n = len(self.drugs)
        keys = np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b)
        pos = np.searchsorted(self.known_keys, keys)
        pos = np.minimum(pos, max(len(self.known_keys) - 1, 0))
        hit = (self.known_keys[pos] == keys) if len(self.known_keys) else np.zeros(len(a), bool)
        t[hit] = self.known_rows[pos[hit]]
        miss = np.flatnonzero(~hit)
        if type_prob is not None:
            t[miss, type_prob[miss].argmax(axis=1)] = 1
        else:
            t[miss, N_TYPES] = 1
        return t

    def severity_proba(self, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(n, 3) Major/Moderate/Minor probabilities."""
        return softmax(np_logits(self.sev_w, a, b, t) / self.sev_temperature)

    def severity_label(self, prob: np.ndarray) -> list[str]:
        rest = 1 + prob[:, 1:].argmax(axis=1)
        pred = np.where(prob[:, 0] >= self.major_threshold, 0, rest)
        return [SEVERITIES[i] for i in pred]

    def any_proba(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        s = np_logits(self.any_w, a, b)[:, 0]
        return sigmoid(self.any_platt[0] * s + self.any_platt[1])

    # -- explanation ----------------------------------------------------------------------------------------
    def sentence(self, type_id: int, drug1_name: str, drug2_name: str) -> str:
        """The type's sentence for a pair in ddi.tsv orientation: #Drug1 := drug2, #Drug2 := drug1."""
        return self.templates[type_id].replace("#Drug1", drug2_name).replace("#Drug2", drug1_name)

    def type_drivers(self, a: int, b: int, t: int, name_a: str, name_b: str) -> list[str]:
        """The known facts of the same type around the two drugs (training pairs): why this type."""
        sent_subject = int(self.type_counts[b, t])  # drug2 of ddi.tsv is the sentence's #Drug1
        sent_object = int(self.type_counts[a, N_TYPES + t])
        out = [f"{name_b} is the subject of {sent_subject} known interaction(s) of this type",
               f"{name_a} is the object of {sent_object} known interaction(s) of this type"]
        if not self.in_profile[a] or not self.in_profile[b]:
            missing = [n for n, i in ((name_a, a), (name_b, b)) if not self.in_profile[i]]
            out.append(f"{' and '.join(missing)}: no known 86-type interactions; targets, classes, ATC codes and "
                       "side effects only (less reliable)")
        return out

    def severity_drivers(self, a: int, b: int, name_a: str, name_b: str) -> list[str]:
        out = []
        for i, name in ((a, name_a), (b, name_b)):
            c = self.grade_counts[i]
            out.append(f"{name}: {int(c[0])} Major, {int(c[1])} Moderate, {int(c[2])} Minor DDInter-graded partners")
        return out
