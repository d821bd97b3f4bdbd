"""Predictions in the interaction check: for a pair without a curated grade, the ddi model's estimated
severity (and for a pair no source covers, its interaction probability and likely type), always labelled
"predicted, not from a source" with the model run. Curated facts and their wording are never changed.

The latest `ddi` run is loaded once per process (numpy tables: a pair is two row lookups and two small
matrix products); without a trained run the check answers exactly as before, `predicted` staying null.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from api.services.errors import UNREADABLE_ARTEFACT
from api.services.pair_answers import NOT_COVERED, NOT_GRADED

log = logging.getLogger(__name__)

LABEL = "predicted, not from a source"
LIKELY = 0.5


class PredictionService:
    def __init__(self, artifacts: Path | None) -> None:
        self.artifacts = artifacts
        self._rt: Any = None
        self._tried = False
        self._lock = threading.Lock()
        # load in the background from the start (~1 s; the interaction store takes longer), so that the
        # in-memory check never waits for it
        threading.Thread(target=self.runtime, name="medkg-ddi-model", daemon=True).start()

    @property
    def ready(self) -> bool:
        """Loaded (or known to be absent): using it costs no I/O."""
        return self._tried

    @property
    def model_run(self) -> str | None:
        rt = self.runtime()
        return rt.model_run if rt is not None else None

    def runtime(self) -> Any:
        """The loaded runtime, loading it on first call (None when no ddi run is trained)."""
        if self._tried:
            return self._rt
        with self._lock:
            if not self._tried:
                try:
                    from gnn.ddi.runtime import DdiRuntime
                    from gnn.pipeline.registry import get_family

                    man = get_family("ddi").store(self.artifacts).manifest()
                    self._rt = DdiRuntime.load(Path(man.folder))
                except UNREADABLE_ARTEFACT as exc:  # no trained run, an outdated or unreadable one
                    log.info("no ddi predictions: %s", exc)
                    self._rt = None
                self._tried = True
        return self._rt

    def annotate(self, interactions: list[dict], quiet: list[dict]) -> None:
        """Set `predicted` on each pair: ungraded interacting pairs get a severity estimate, `not covered`
        pairs an interaction probability with type and severity; everything else keeps its None."""
        rt = self.runtime()
        if rt is None:
            return
        idx = rt.index
        self._score(rt, [p for p in interactions if p["severity"] == NOT_GRADED
                         and p["drug_a"]["id"] in idx and p["drug_b"]["id"] in idx],
                    [p for p in quiet if p["status"] == NOT_COVERED
                     and p["drug_a"]["id"] in idx and p["drug_b"]["id"] in idx])

    def _score(self, rt: Any, graded: list[dict], uncovered: list[dict]) -> None:
        idx = rt.index
        if graded:
            a = np.array([idx[p["drug_a"]["id"]] for p in graded])
            b = np.array([idx[p["drug_b"]["id"]] for p in graded])
            sp = rt.severity_proba(a, b, rt.pair_type_features(a, b))
            labels = rt.severity_label(sp)
            for i, p in enumerate(graded):
                p["predicted"] = self._severity_part(rt, p, int(a[i]), int(b[i]), sp[i], labels[i])
        if uncovered:
            a = np.array([idx[p["drug_a"]["id"]] for p in uncovered])
            b = np.array([idx[p["drug_b"]["id"]] for p in uncovered])
            both = rt.type_proba(np.concatenate([a, b]), np.concatenate([b, a]))
            fwd, rev = both[:len(a)], both[len(a):]
            p_any = rt.any_proba(a, b)
            # per pair, the orientation whose best type is likelier: (a, b) or (b, a) in ddi.tsv order
            forward = fwd.max(axis=1) >= rev.max(axis=1)
            d1s, d2s = np.where(forward, a, b), np.where(forward, b, a)
            tps = np.where(forward[:, None], fwd, rev)
            types = tps.argmax(axis=1)
            tvec = np.zeros((len(a), tps.shape[1] + 1), np.float32)
            tvec[np.arange(len(a)), types] = 1
            sps = rt.severity_proba(d1s, d2s, tvec)
            labels = rt.severity_label(sps)
            for i, p in enumerate(uncovered):
                d1, d2, tp, t, sp, label = int(d1s[i]), int(d2s[i]), tps[i], int(types[i]), sps[i], labels[i]
                name = {p["drug_a"]["id"]: p["drug_a"]["name"], p["drug_b"]["id"]: p["drug_b"]["name"]}
                n1, n2 = name[rt.drugs[d1]], name[rt.drugs[d2]]
                part = self._severity_part(rt, p, d1, d2, sp, label)
                prob = float(p_any[i])
                estimate = "likely" if prob >= LIKELY else "unlikely"
                part.update({
                    "interaction_probability": round(prob, 4), "interaction_estimate": estimate,
                    "type": t + 1, "type_probability": round(float(tp[t]), 4),
                    "sentence": rt.sentence(t + 1, n1, n2), "subject": rt.drugs[d2],
                    "drivers": rt.type_drivers(d1, d2, t, n1, n2) + part["drivers"],
                    "note": f"no source covers this pair; model estimate: {estimate} (p = {prob:.2f}); "
                            "type and severity are what the model expects if they do interact"})
                p["predicted"] = part

    @staticmethod
    def _severity_part(rt: Any, p: dict, a: int, b: int, sp: np.ndarray, label: str) -> dict[str, Any]:
        names = {p["drug_a"]["id"]: p["drug_a"]["name"], p["drug_b"]["id"]: p["drug_b"]["name"]}
        sev = ("Major", "Moderate", "Minor").index(label)
        return {"label": LABEL, "model_run": rt.model_run, "severity": label,
                "severity_probability": round(float(sp[sev]), 4), "major_probability": round(float(sp[0]), 4),
                "major_threshold": round(rt.major_threshold, 4),
                "interaction_probability": None, "interaction_estimate": None, "type": None,
                "type_probability": None, "sentence": None, "subject": None,
                "drivers": rt.severity_drivers(a, b, names[rt.drugs[a]], names[rt.drugs[b]]),
                "note": f"estimated severity {label}: no source grades this pair (DDInter has no grade for it); "
                        "the curated facts above are unchanged"}


_SHARED: dict[str, PredictionService] = {}
_SHARED_LOCK = threading.Lock()


def shared_predictions(artifacts: Path | None = None) -> PredictionService:
    """One PredictionService per artefact root and process (the model's tables are loaded once)."""
    if artifacts is None:
        from kg.settings import get_settings

        artifacts = get_settings().medkg_artifacts
    key = str(Path(artifacts).resolve())
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = PredictionService(Path(artifacts))
        return _SHARED[key]
