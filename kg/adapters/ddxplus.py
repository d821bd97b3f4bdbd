"""DDXPlus: the 49 pathologies (ICD-10), the 223 evidences, and which evidences each pathology has."""

from __future__ import annotations

import json

from kg.adapters.resolvers import ResolutionTally, disease_resolver
from kg.records import GraphBatch

SOURCE = "ddxplus"
CONDITIONS = "ddxplus/release_conditions.json"
EVIDENCES = "ddxplus/release_evidences.json"
FILES = [CONDITIONS, EVIDENCES]


def _load_json(batch: GraphBatch, rel: str) -> dict:
    path = batch.data_dir / rel
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        batch.reject(path, exc.lineno, f"invalid JSON: {exc.msg}", SOURCE)
        return {}


def load(batch: GraphBatch) -> None:
    resolver = disease_resolver(batch.data_dir)
    tally = ResolutionTally(batch, "ddxplus-pathologies")
    evidences = _load_json(batch, EVIDENCES)
    ev_path = batch.data_dir / EVIDENCES
    for code, ev in evidences.items():
        meanings = {k: (v or {}).get("en", "") for k, v in (ev.get("value_meaning") or {}).items()}
        batch.add_node("Evidence", code, {
            "name": ev.get("question_en") or code,
            "question_en": ev.get("question_en"),
            "data_type": ev.get("data_type"),
            "is_antecedent": bool(ev.get("is_antecedent")),
            "possible_values": [str(v) for v in ev.get("possible-values") or []],
            "value_meanings": json.dumps(meanings, ensure_ascii=False) if meanings else None,
            "default_value": None if ev.get("default_value") is None else str(ev.get("default_value")),
        }, SOURCE, file=ev_path)
    conditions = _load_json(batch, CONDITIONS)
    path = batch.data_dir / CONDITIONS
    for key, cond in conditions.items():
        icd = (cond.get("icd10-id") or "").strip()
        batch.add_node("Pathology", key, {
            "name": cond.get("cond-name-eng") or key, "name_fr": cond.get("cond-name-fr"),
            "icd10": icd.upper(), "severity": cond.get("severity"),
        }, SOURCE, file=path)
        for rel, field in (("HAS_SYMPTOM", "symptoms"), ("HAS_ANTECEDENT", "antecedents")):
            for ev_code in cond.get(field) or {}:
                batch.add_edge(rel, ("Pathology", key), ("Evidence", ev_code), {}, SOURCE, file=path)
        res = resolver.match_pathology(cond.get("cond-name-eng") or key, icd or None).resolution
        if res is not None:
            tally.resolved(res.method)
            batch.add_edge("MAPS_TO", ("Pathology", key), ("Disease", res.id),
                           {"method": res.method, "score": res.score}, "medkg")
        else:
            tally.unresolved(f"{key} ({icd})")
    tally.finish()
