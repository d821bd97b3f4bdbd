"""A trained side-effect model in memory: probabilities and explanations for any drug of its index.

This is the function other parts use (question answering, recommendation explanations, the API):
`SideEffectModel.predicted_side_effects(drug_id, limit)` returns predictions only, each labelled
"predicted" with its calibrated probability and model run, never mixed with recorded facts.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from gnn.sideeffects.data import MODALITIES
from gnn.sideeffects.fit import QuerySims, Reference
from gnn.sideeffects.model import Stacker, top_k

INDEX, MATRICES, STACKERS = "index.json", "matrices.npz", "stackers.json"
NO_BASIS = "no basis to predict: the graph holds no structure, targets, classes, ATC codes, categories or interactions"


def pack(prefix: str, m: sparse.csr_matrix) -> dict[str, np.ndarray]:
    m = m.tocsr()
    return {f"{prefix}__indices": m.indices.astype(np.int32), f"{prefix}__indptr": m.indptr.astype(np.int64),
            f"{prefix}__shape": np.asarray(m.shape, dtype=np.int64)}


def unpack(z: Any, prefix: str) -> sparse.csr_matrix:
    idx, ptr, shape = z[f"{prefix}__indices"], z[f"{prefix}__indptr"], tuple(z[f"{prefix}__shape"])
    return sparse.csr_matrix((np.ones(len(idx), dtype=np.float32), idx, ptr), shape=shape)


class SideEffectModel:
    """Reference = every profiled drug with all its recorded side effects. A profiled query drug is scored by
    the warm stacker (its own profile counts as a similarity, its recorded side effects are not candidates),
    any other drug with inputs by the cold stacker."""

    def __init__(self, index: dict[str, Any], mats: dict[str, sparse.csr_matrix], labels: sparse.csr_matrix,
                 cold: Stacker, warm: Stacker, model_run: str) -> None:
        self.index, self.mats, self.labels = index, mats, labels.tocsr()
        self.cold, self.warm, self.model_run = cold, warm, model_run
        self.drugs: list[str] = index["drugs"]
        self.drug_names: list[str] = index["drug_names"]
        self.side_effects: list[str] = index["side_effects"]
        self.se_names: list[str] = index["se_names"]
        self.pos = {d: i for i, d in enumerate(self.drugs)}
        self.profiled = np.asarray(self.labels.getnnz(axis=1) > 0)
        has = np.zeros(len(self.drugs), dtype=bool)
        for m in MODALITIES:
            has |= np.asarray(self.mats[m].getnnz(axis=1) > 0)
        self.has_input = has
        self.ref = Reference.of(np.nonzero(self.profiled)[0], self.labels)
        self._all = {**self.mats, "profile": self.labels}
        self.metrics: dict[str, Any] = {}

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def from_folder(cls, folder: Path, model_run: str) -> SideEffectModel:
        index = json.loads((folder / INDEX).read_text())
        with np.load(folder / MATRICES) as z:
            mats = {m: unpack(z, m) for m in MODALITIES}
            labels = unpack(z, "labels")
        st = json.loads((folder / STACKERS).read_text())
        return cls(index, mats, labels, Stacker.from_dict(st["cold"]), Stacker.from_dict(st["warm"]), model_run)

    # -- scoring ---------------------------------------------------------------------------------
    def basis(self, row: int) -> str:
        return "profile" if self.profiled[row] else ("inputs" if self.has_input[row] else "none")

    def prob_rows(self, rows: np.ndarray, stacker: Stacker) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Calibrated probabilities (rows × side effects) with one stacker, and the similarities used."""
        sims = QuerySims(self._all, self.ref, rows, stacker.modalities)
        return stacker.prob_matrix(stacker.hoods(sims), self.ref.pop), sims.sims

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Per row: the warm stacker for profiled drugs (recorded pairs set to NaN), the cold one for other
        drugs with inputs, NaN for drugs with no basis."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.full((len(rows), len(self.side_effects)), np.nan)
        warm = self.profiled[rows]
        cold = ~warm & self.has_input[rows]
        if warm.any():
            p, _ = self.prob_rows(rows[warm], self.warm)
            p[np.asarray(self.labels[rows[warm]].toarray()) > 0] = np.nan
            out[warm] = p
        if cold.any():
            out[cold] = self.prob_rows(rows[cold], self.cold)[0]
        return out

    def calibration(self) -> dict[str, Any]:
        """Brier and ECE of this run's probabilities on its validation queries (cold: unprofiled drugs; warm:
        drugs with a profile)."""
        m = self.metrics
        return {"cold_start": {k: m.get(f"cold_val_{k}") for k in ("brier", "ece")},
                "warm": {k: m.get(f"warm_val_{k}") for k in ("brier", "ece")},
                "measured_on": "validation queries of the run (see docs/results/side-effects-*.json for test figures)"}

    def explain(self, drug_id: str, side_effect_ids: list[str]) -> dict[str, dict[str, Any]]:
        """`why` for some of a drug's predictions (the route explains only the page it returns)."""
        row = self.pos[drug_id]
        stacker = self.warm if self.profiled[row] else self.cold
        _, sims = self.prob_rows(np.array([row]), stacker)
        col = {s: i for i, s in enumerate(self.side_effects)}
        return {s: self.why(row, col[s], sims, stacker.k) for s in side_effect_ids}

    # -- the function question answering and the API use -------------------------------------------
    def predicted_side_effects(self, drug_id: str, limit: int = 20, offset: int = 0, min_probability: float = 0.0,
                               explain: bool = True) -> dict[str, Any]:
        """A drug's predicted (never recorded) side effects, best first: `{drug_id, basis, model_run, total,
        items: [{side_effect_id, name, status: "predicted", probability, model_run, why}]}`; basis "none"
        (no items) when the model has no input for the drug; KeyError for a drug outside the model's index."""
        row = self.pos[drug_id]
        basis = self.basis(row)
        out: dict[str, Any] = {"drug_id": drug_id, "basis": basis, "model_run": self.model_run, "total": 0,
                               "items": []}
        if basis == "none":
            out["message"] = NO_BASIS
            return out
        stacker = self.warm if basis == "profile" else self.cold
        p, sims = self.prob_rows(np.array([row]), stacker)
        p = p[0]
        if basis == "profile":
            p[self.labels[row].indices] = np.nan
        ok = np.nonzero(np.nan_to_num(p, nan=-1.0) >= max(min_probability, 0.0))[0]
        order = ok[np.argsort(-p[ok], kind="stable")]
        out["total"] = len(order)
        for c in order[offset:offset + limit]:
            item = {"side_effect_id": self.side_effects[c], "name": self.se_names[c], "status": "predicted",
                    "probability": round(float(p[c]), 4), "model_run": self.model_run}
            if explain:
                item["why"] = self.why(row, int(c), sims, stacker.k)
            out["items"].append(item)
        return out

    def why(self, row: int, col: int, sims: dict[str, np.ndarray], k: int, n: int = 3) -> dict[str, Any]:
        """The most similar reference drugs (within each similarity's k nearest) that cause the side effect,
        and the targets the query shares with them."""
        causes = np.asarray(self.ref.y[:, col].toarray()).ravel() > 0
        best: dict[int, tuple[float, str]] = {}
        for m, s in sims.items():
            w = top_k(s, k).tocoo()
            for j, v in zip(w.col.tolist(), w.data.tolist(), strict=True):
                if causes[j] and v > best.get(j, (0.0, ""))[0]:
                    best[j] = (float(v), m)
        top = sorted(best.items(), key=lambda e: -e[1][0])[:n]
        tq = set(self.mats["targets"][row].indices.tolist())
        genes = self.index.get("feature_labels", {}).get("targets", [])
        similar, shared = [], set()
        for j, (v, m) in top:
            r = int(self.ref.rows[j])
            similar.append({"drug_id": self.drugs[r], "name": self.drug_names[r], "similarity": round(v, 3), "by": m})
            shared |= tq & set(self.mats["targets"][r].indices.tolist())
        return {"similar_drugs_causing_it": similar,
                "shared_targets": sorted(genes[g] if g < len(genes) else str(g) for g in shared)[:10]}


_LOADED: dict[tuple[str, str], SideEffectModel] = {}
_LOCK = threading.Lock()


def predicted_side_effects(drug_id: str, limit: int = 20, min_probability: float = 0.0, explain: bool = True,
                           artifacts: Path | None = None) -> dict[str, Any]:
    """For question answering and explanations: a drug's predicted side effects from the latest run (loaded
    once per run), predictions only, each flagged "predicted" with probability and model run. A drug outside
    the run's index gets basis "none" with a message; no trained model raises the store's ConfigError."""
    from gnn.pipeline.registry import get_family

    fam = get_family("side-effects")
    key = (str(artifacts), fam.store(artifacts).latest_name() or "")
    with _LOCK:
        if key not in _LOADED:
            _LOADED.clear()
            _LOADED[key] = fam.load(None, artifacts)
        model = _LOADED[key]
    if drug_id not in model.pos:
        return {"drug_id": drug_id, "basis": "none", "model_run": model.model_run, "total": 0, "items": [],
                "message": "no basis to predict: the drug is not in this model run's index"}
    return model.predicted_side_effects(drug_id, limit=limit, min_probability=min_probability, explain=explain)
