"""A drug's side effects for the API: recorded ones (SIDER via the graph, with their source) first, then the
side-effect model's predictions, flagged "predicted" with calibrated probability, model run and why.

The model is loaded at start-up (never failing it) and retried on a later request; with none, requests get
`SideEffectModelUnavailable` (HTTP 503) with the reason and how to train one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neo4j import Driver

from api.services.db import run_read
from api.services.graph_index import cached_index, get_index
from api.services.lookup import DrugLookup
from api.services.model_slot import ModelSlot
from kg.errors import InvalidInput, ModelUnavailable, NotFound
from kg.settings import Settings

MAX_PAGE = 200

RECORDED = """
MATCH (d:Drug {id: $id})
OPTIONAL MATCH (d)-[r:CAUSES]->(s:SideEffect)
WITH d, r, s ORDER BY toLower(s.name), s.id
RETURN d.id AS id, d.name AS name,
       [x IN collect(CASE WHEN s IS NULL THEN NULL ELSE {id: s.id, name: s.name, sources: r.sources,
                                                         licenses: r.licenses} END) WHERE x IS NOT NULL] AS recorded
"""


class SideEffectModelUnavailable(ModelUnavailable):
    """No usable side-effect model: the message says why and how to make one."""


class SideEffectService:
    def __init__(self, settings: Settings, driver: Driver | None, lookup: DrugLookup | None,
                 artifacts: Path | None = None) -> None:
        self.driver, self.lookup = driver, lookup
        self.database, self.key = settings.neo4j_database, settings.bolt_uri
        self.slot: ModelSlot[Any] = ModelSlot("side-effects", artifacts or settings.medkg_artifacts,
                                              SideEffectModelUnavailable, "side-effect model")

    def load(self) -> bool:
        return self.slot.load()

    @property
    def model(self) -> Any:
        return self.slot.get()

    def _resolve(self, ref: str) -> tuple[str, Any]:
        index = cached_index(self.key, self.database) or get_index(self.driver, self.database, self.key)
        if self.lookup is None:
            return ref, index
        entry = self.lookup.resolve(ref, index)
        return (entry.drugs[0].id if entry.status == "resolved" and len(entry.drugs) == 1 else ref), index

    def of_drug(self, ref: str, limit: int = 50, offset: int = 0, min_probability: float = 0.05,
                explain: bool = True) -> dict[str, Any]:
        """Recorded side effects (by name) then predicted ones (by probability), one paged list."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE}, got {limit}", "limit")
        if offset < 0:
            raise InvalidInput(f"offset must be >= 0, got {offset}", "offset")
        if not 0.0 <= min_probability <= 1.0:
            raise InvalidInput(f"min_probability must be in [0, 1], got {min_probability}", "min_probability")
        model = self.model
        drug_id, index = self._resolve(ref)
        rows = run_read(self.driver, self.database, RECORDED, {"id": drug_id})
        if not rows:
            suggestions = self.lookup.suggest(ref, 5, index) if self.lookup is not None else []
            raise NotFound(f"no Drug {ref!r} in the graph", suggestions)
        row = rows[0]
        recorded = [{"side_effect_id": s["id"], "name": s["name"], "status": "recorded",
                     "sources": s["sources"] or [], "licenses": s["licenses"] or []} for s in row["recorded"]]
        seen = {s["side_effect_id"] for s in recorded}
        out: dict[str, Any] = {"drug": {"id": row["id"], "name": row["name"]}, "model_run": model.model_run,
                               "calibration": model.calibration(), "min_probability": min_probability,
                               "limit": limit, "offset": offset, "recorded_total": len(recorded)}
        if row["id"] not in model.pos:
            pred: dict[str, Any] = {"basis": "none", "total": 0, "items": [],
                                    "message": "no basis to predict: the drug is not in this model run's index "
                                               "(retrain with `medkg train side-effects`)"}
        else:
            # every candidate above the threshold, cheaply (no explanations), to size and page the list
            pred = model.predicted_side_effects(row["id"], limit=10**6, min_probability=min_probability,
                                                explain=False)
            pred["items"] = [p for p in pred["items"] if p["side_effect_id"] not in seen]
        predicted = pred["items"]
        out |= {"basis": pred["basis"], "predicted_total": len(predicted), "total": len(recorded) + len(predicted)}
        if pred.get("message"):
            out["message"] = pred["message"]
        page = (recorded + predicted)[offset:offset + limit]
        if explain and any(p["status"] == "predicted" for p in page):
            whys = model.explain(row["id"], [p["side_effect_id"] for p in page if p["status"] == "predicted"])
            for p in page:
                if p["status"] == "predicted":
                    p["why"] = whys[p["side_effect_id"]]
        out["items"] = page
        return out
