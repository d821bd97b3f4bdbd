"""Ranked drug recommendations for a disease from precomputed scores, with patient safety and explanations.

Scores for every candidate disease are computed once when the `Recommender` is built (numpy, from the saved
embeddings); a disease outside the candidate set but in the model is scored on first use and cached.
Safety (for a patient): a Major INTERACTS_WITH with a current medication, a NOT_INDICATED_FOR one of the
patient's mapped diseases, or an allergy (ALLERGIC_TO the drug, or a Condition of the same name) either
removes the drug (`safety="exclude"`) or keeps it with `flags` (`safety="flag"`).
A drug NOT_INDICATED_FOR the disease itself (a sourced contraindication) is never recommended: it is left out of
the ranking and listed only under `contraindicated`, flagged, with the edge's sources.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import numpy as np
from neo4j import Driver

from gnn.pipeline.calibration import apply_platt as platt_prob
from gnn.treats import queries as Q
from gnn.treats.artifacts import TreatsRun
from gnn.treats.ensemble import EnsembleScorer
from kg.db import read
from kg.errors import InvalidInput, NotFound

Safety = Literal["exclude", "flag"]


@dataclass
class Ranked:
    drug_id: str
    name: str | None
    score: float
    probability: float
    known: bool


class Recommender:
    """Precomputed drug rankings per disease (all numpy; no torch, no database)."""

    def __init__(self, run: TreatsRun) -> None:
        self.run = run
        self.drug_ids = np.asarray(run.index["nodes"]["Drug"], dtype=object)[run.cand_drugs]
        self.dis_pos = {d: i for i, d in enumerate(run.index["nodes"]["Disease"])}
        self._node = {did: int(n) for did, n in zip(self.drug_ids, run.cand_drugs, strict=True)}  # id -> node row
        self.names: dict[str, str] = run.config.get("names", {})
        cal = run.config["calibration"]
        self.a, self.b = float(cal["a"]), float(cal["b"])
        known = defaultdict(set)
        for d, x in run.known.T.tolist():
            known[x].add(d)
        self._known_cols = {x: np.isin(run.cand_drugs, sorted(ds)) for x, ds in known.items()}
        contra = defaultdict(set)
        for d, x in run.contra.T.tolist():
            contra[x].add(d)
        self._contra_cols = {x: np.isin(run.cand_drugs, sorted(ds)) for x, ds in contra.items()}
        t0 = time.perf_counter()
        logits = run.scorer.matrix(run.cand_dis, run.cand_drugs)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for r, x in enumerate(run.cand_dis.tolist()):
            self._cache[x] = self._order(x, logits[r])
        self.load_seconds = time.perf_counter() - t0

    @property
    def model_run(self) -> str:
        return self.run.model_run

    def _order(self, x: int, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(candidate columns in recommended order, logits): known indications first, then by score;
        drugs NOT_INDICATED_FOR the disease are not in the order at all."""
        known = self._known_cols.get(x, np.zeros(len(logits), dtype=bool))
        order = np.lexsort((-logits, ~known))
        contra = self._contra_cols.get(x)
        if contra is not None:
            order = order[~contra[order]]
        return order, logits

    def contraindicated(self, disease_id: str) -> list[dict]:
        """The drugs NOT_INDICATED_FOR this disease (model probability shown, never recommended)."""
        x = self.disease_row(disease_id)
        cols = np.flatnonzero(self._contra_cols.get(x, np.zeros(len(self.drug_ids), dtype=bool)))
        if not len(cols):
            return []
        _, logits = self.ranking(disease_id)
        return [{"drug_id": self.drug_ids[c], "name": self.names.get(self.drug_ids[c]),
                 "probability": round(float(platt_prob(np.array([logits[c]]), self.a, self.b)[0]), 6),
                 "status": "contraindicated", "reason": "NOT_INDICATED_FOR"} for c in cols]

    def disease_row(self, disease_id: str) -> int:
        if disease_id not in self.dis_pos:
            raise NotFound(f"disease {disease_id!r} is not in the treats model (ids look like DOID:9352)")
        return self.dis_pos[disease_id]

    def ranking(self, disease_id: str) -> tuple[np.ndarray, np.ndarray]:
        x = self.disease_row(disease_id)
        if x not in self._cache:
            self._cache[x] = self._order(x, self.run.scorer.matrix(np.array([x]), self.run.cand_drugs)[0])
        return self._cache[x]

    def drivers(self, disease_id: str, drug_ids: list[str]) -> dict[str, dict]:
        """drug id → what drove its score (ensemble runs only; {} for a GNN-only run)."""
        scorer = self.run.scorer
        if not isinstance(scorer, EnsembleScorer) or not drug_ids:
            return {}
        node = self._node
        found = [d for d in drug_ids if d in node]
        rows = scorer.drivers(self.disease_row(disease_id), np.array([node[d] for d in found]))
        return dict(zip(found, rows, strict=True))

    def top(self, disease_id: str, k: int, skip: set[str] | frozenset[str] = frozenset()) -> list[Ranked]:
        """The best `k` drugs for a disease, leaving out `skip` drug ids."""
        order, logits = self.ranking(disease_id)
        known = self._known_cols.get(self.dis_pos[disease_id])
        out: list[Ranked] = []
        for col in order:
            did = self.drug_ids[col]
            if did in skip:
                continue
            s = float(logits[col])
            out.append(Ranked(drug_id=did, name=self.names.get(did), score=s,
                              probability=float(platt_prob(np.array([s]), self.a, self.b)[0]),
                              known=bool(known[col]) if known is not None else False))
            if len(out) >= k:
                break
        return out


def patient_safety(driver: Driver, patient_id: str) -> dict[str, list[dict]]:
    """drug id → reasons it is unsafe for the patient (Major interaction, contraindication, allergy)."""
    if not read(driver, Q.PATIENT_EXISTS, patient=patient_id):
        raise NotFound(f"patient {patient_id!r} not found")
    reasons: dict[str, list[dict]] = defaultdict(list)
    for r in read(driver, Q.PATIENT_MAJOR_INTERACTIONS, patient=patient_id):
        reasons[r["drug"]].append({"reason": "major_interaction", "with_drug": r["with_drug"],
                                   "with_name": r["with_name"], "medication": r["medication"],
                                   "sources": r["sources"]})
    for r in read(driver, Q.PATIENT_CONTRAINDICATIONS, patient=patient_id):
        reasons[r["drug"]].append({"reason": "contraindication", "disease": r["disease"],
                                   "disease_name": r["disease_name"], "condition": r["condition"],
                                   "sources": r["sources"]})
    for r in read(driver, Q.PATIENT_ALLERGIES, patient=patient_id):
        reasons[r["drug"]].append({"reason": "allergy", "allergen": r["allergen"]})
    for did in read(driver, Q.PATIENT_CURRENT_DRUGS, patient=patient_id)[0]["ids"]:
        reasons[did].append({"reason": "already_taking"})
    return dict(reasons)


def explain(driver: Driver, drug_ids: list[str], disease_id: str, per_drug: int = 3) -> dict[str, list[dict]]:
    """The strongest supporting paths for each (drug, disease), each edge with its sources."""
    paths: dict[str, list[dict]] = defaultdict(list)
    for metapath, cypher in Q.EXPLAIN_METAPATHS.items():
        for r in read(driver, cypher, drugs=drug_ids, disease=disease_id, k=per_drug):
            paths[r["drug"]].append({"metapath": metapath, "weight": round(float(r["weight"]), 4),
                                     "nodes": r["names"], "edges": r["edges"]})
    return {d: sorted(p, key=lambda e: -e["weight"])[:per_drug] for d, p in paths.items()}


def recommend(recommender: Recommender, driver: Driver | None, disease_id: str, *, patient_id: str | None = None,
              top: int = 10, safety: Safety = "exclude", with_explanations: bool = True) -> dict:
    """The full answer: ranked drugs with probability, known flag, safety flags and explanation paths."""
    if top < 1 or top > 500:
        raise InvalidInput(f"top must be between 1 and 500, got {top}", field="top")
    if safety not in ("exclude", "flag"):
        raise InvalidInput(f"safety must be 'exclude' or 'flag', got {safety!r}", field="safety")
    recommender.disease_row(disease_id)
    unsafe = patient_safety(driver, patient_id) if patient_id and driver is not None else {}
    skip = set(unsafe) if safety == "exclude" else set()
    ranked = recommender.top(disease_id, top, skip)
    why = explain(driver, [r.drug_id for r in ranked], disease_id) if with_explanations and driver else {}
    drivers = recommender.drivers(disease_id, [r.drug_id for r in ranked]) if with_explanations else {}
    items = [{"rank": i + 1, "drug_id": r.drug_id, "name": r.name, "probability": round(r.probability, 6),
              "score": round(r.score, 4), "status": "known" if r.known else "predicted",
              "safety": unsafe.get(r.drug_id, []), "explanation": why.get(r.drug_id, []),
              "score_drivers": drivers.get(r.drug_id)}
             for i, r in enumerate(ranked)]
    # the unsafe drugs that would have been in the top `top` had they not been excluded, with the reasons
    would_be = [r for r in recommender.top(disease_id, top) if r.drug_id in skip]
    excluded = [{"drug_id": r.drug_id, "name": r.name, "probability": round(r.probability, 6),
                 "reasons": unsafe[r.drug_id]} for r in would_be]
    contra = recommender.contraindicated(disease_id)
    if contra and driver is not None:
        src = {r["drug"]: r for r in read(driver, Q.DISEASE_CONTRAINDICATIONS, disease=disease_id)}
        for c in contra:
            c["sources"] = (src.get(c["drug_id"]) or {}).get("sources") or []
    return {"disease": disease_id, "patient": patient_id, "safety": safety, "model_run": recommender.model_run,
            "recommendations": items, "unsafe_drugs_for_patient": len(unsafe), "excluded": excluded,
            "contraindicated": contra}
