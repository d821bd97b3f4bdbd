"""Drug recommendations for the API: the treats model's precomputed rankings, loaded at start-up (or on the
first request after a model appears), never failing start-up: with no model the route answers 503.

With explanations, each recommended drug also carries its side effects as two separate lists: how many are
recorded (SIDER, with the source) and the side-effect model's top predictions, each labelled a prediction
with probability and model run — never mixed with the recorded facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.services.db import Gateway
from api.services.model_slot import ModelSlot
from gnn.treats.recommend import Recommender, Safety, recommend
from kg.errors import ModelUnavailable
from kg.settings import Settings

PREDICTED_LABEL = "predicted, not from a source"
RECORDED_SIDE_EFFECTS = """
UNWIND $ids AS id
MATCH (d:Drug {id: id})
OPTIONAL MATCH (d)-[r:CAUSES]->(s:SideEffect)
RETURN d.id AS id, count(r) AS n, collect(DISTINCT r.sources) AS sources, collect(s.id) AS side_effects
"""


class RecommenderUnavailable(ModelUnavailable):
    """No usable treats model: the message says why and how to make one."""


class RecommendService:
    """Holds the loaded Recommender (numpy score tables) for one app."""

    def __init__(self, settings: Settings, db: Gateway | None, artifacts: Path | None = None) -> None:
        self.db = db  # the model code's queries (safety, explanations) run through the app's gateway
        self.slot: ModelSlot[Recommender] = ModelSlot(
            "treats", artifacts or settings.medkg_artifacts, RecommenderUnavailable,
            "drug recommendation model", wrap=Recommender)

    def load(self) -> bool:
        return self.slot.load()

    @property
    def recommender(self) -> Recommender:
        return self.slot.get()

    def recommend(self, disease: str, patient: str | None, top: int, safety: Safety, explain: bool,
                  side_effects: ModelSlot[Any] | None = None, per_drug: int = 5) -> dict:
        """`side_effects`: the app's side-effect model slot; with `explain` and `per_drug` > 0 each drug gets
        its recorded side-effect count and top predicted side effects."""
        out = recommend(self.recommender, self.db, disease, patient_id=patient, top=top, safety=safety,
                        with_explanations=explain)
        if explain and per_drug > 0:
            self.attach_side_effects(out["recommendations"], side_effects, per_drug)
        return out

    def attach_side_effects(self, items: list[dict[str, Any]], slot: ModelSlot[Any] | None, per_drug: int) -> None:
        """Per drug: `side_effects = {recorded: {count, sources}, predicted: {model_run, basis, items}}`; the
        predicted list leaves out recorded side effects and says when the model is unavailable."""
        ids = [it["drug_id"] for it in items]
        recorded = {r["id"]: r for r in self.db.read(RECORDED_SIDE_EFFECTS, {"ids": ids})} if self.db else {}
        model, unavailable = None, "side-effect model not configured"
        if slot is not None:
            try:  # a model trained after start-up is picked up here (the slot retries at most every 10 s)
                model = slot.get()
            except ModelUnavailable as exc:
                unavailable = str(exc)
        for it in items:
            rec = recorded.get(it["drug_id"], {})
            sources = sorted({src for group in rec.get("sources") or [] for src in group or []})
            entry: dict[str, Any] = {"recorded": {"count": rec.get("n", 0), "sources": sources}}
            if model is None:
                entry["predicted"] = {"available": False, "message": unavailable, "items": []}
            elif it["drug_id"] not in model.pos:
                entry["predicted"] = {"available": True, "model_run": model.model_run, "basis": "none",
                                      "message": "no basis to predict: the drug is not in this model run's index",
                                      "items": []}
            else:
                # the graph's recorded facts win over the model run's copy of the profile (a newer build may
                # record more): a side effect recorded now is never offered as a prediction
                seen = set(rec.get("side_effects") or [])
                pred = model.predicted_side_effects(it["drug_id"], limit=per_drug + len(seen), explain=True)
                fresh = [p | {"label": PREDICTED_LABEL} for p in pred["items"] if p["side_effect_id"] not in seen]
                entry["predicted"] = {"available": True, "model_run": model.model_run, "basis": pred["basis"],
                                      "label": PREDICTED_LABEL, "items": fresh[:per_drug]}
                if pred.get("message"):
                    entry["predicted"]["message"] = pred["message"]
            it["side_effects"] = entry
