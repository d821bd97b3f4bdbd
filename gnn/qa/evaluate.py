"""Scoring a QA engine on a question set: intent accuracy, entity-linking accuracy, answer-set F1, abstention
rates; and the simple baseline (keyword intent rules + exact-name linking) scored the same way."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

from gnn.qa.catalogue import INTENTS, OUT_OF_SCOPE

# keyword rules on the masked question, first match wins (the baseline's intent detector)
KEYWORD_RULES: list[tuple[str, str]] = [
    (r"\b(dose|dosage|mg|cost|price|buy|weather|poem|joke|prognosis|survival|insurance)\b", OUT_OF_SCOPE),
    (r"\bpredict", "predicted_treats"),
    (r"\b(why|rationale|explain|evidence)\b", "explain"),
    (r"drugx.*\b(and|with|\+)\b.*drugx", "interaction_check"),
    (r"\b(interact|interactions|combine|mix)\b", "interactions"),
    (r"\b(side effects?|adverse)\b.*drugx|drugx.*\b(side effects?|adverse)\b", "side_effects"),
    (r"\b(side effects?|adverse|cause|causes|induce)\b", "drugs_causing"),
    (r"\b(symptoms?|signs|present|presentation)\b.*diseasex", "symptoms"),
    (r"\b(symptoms?|present|presents|differential)\b", "differential"),
    (r"\bgenes?\b|genetic", "genes"),
    (r"\b(target|targets|bind|binds)\b", "targets"),
    (r"classx", "class_members"),
    (r"\b(class|classes|kind|type|category)\b", "drug_classes"),
    (r"\b(where|organs?|body|anatomical|location|tissues)\b", "localizes"),
    (r"\b(resemble|resembling|similar|like|related)\b", "resembles"),
    (r"\b(palliative|relieve|relief|ease|eases|symptomatic)\b", "palliates"),
    (r"\b(treat|treats|treated|treatments?|drugs?|medications?|medicines?|cure|indicated)\b", "treats"),
]


class KeywordClassifier:
    """The baseline's intent detector with the classifier's interface (`classes`, `threshold`, `proba`)."""

    def __init__(self) -> None:
        self.classes = [*INTENTS, OUT_OF_SCOPE]
        self.threshold = 0.0
        self.rules = [(re.compile(p), i) for p, i in KEYWORD_RULES]

    def proba(self, texts: list[str], counts: list[dict[str, int]], encoder: Any = None) -> np.ndarray:
        out = np.zeros((len(texts), len(self.classes)))
        for row, text in enumerate(texts):
            intent = next((i for p, i in self.rules if p.search(text)), OUT_OF_SCOPE)
            out[row, self.classes.index(intent)] = 1.0
        return out


def name_only(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gazetteer rows for exact-name linking: names only (no synonyms, brands)."""
    return [{**r, "synonyms": [], "brand_names": []} for r in rows]


def set_f1(pred: set[str], gold: set[str]) -> float:
    if not pred and not gold:
        return 1.0
    tp = len(pred & gold)
    if tp == 0:
        return 0.0
    p, r = tp / len(pred), tp / len(gold)
    return 2 * p * r / (p + r)


def score_one(q: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
    """Per question: intent right, entities right, answer F1 (an expected abstention counts 1 if abstained)."""
    interp = res.get("interpretation") or {}
    got_intent = OUT_OF_SCOPE if res["abstained"] and res.get("reason") == "out_of_scope" else interp.get("intent")
    gold_ids = sorted(e["id"] for e in q["entities"].values() if e.get("id")) if q["kind"] != "oos" else []
    got_ids = sorted(e["id"] for e in interp.get("entities", []) if e.get("id"))
    if q["abstain"]:
        f1 = 1.0 if res["abstained"] else 0.0
    else:
        f1 = 0.0 if res["abstained"] else set_f1({a["id"] for a in res["answers"]}, set(q["answers"]))
    return {"intent_ok": got_intent == q["intent"], "link_ok": got_ids == gold_ids, "f1": f1,
            "abstained": bool(res["abstained"]), "ms": res.get("ms", 0.0)}


def metrics(questions: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, float]:
    scored = [score_one(q, r) for q, r in zip(questions, results, strict=True)]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(questions):
        groups[q["kind"]].append(i)
        if q["kind"] in ("template", "hand") and not q["abstain"]:
            groups["answerable"].append(i)
    inscope = groups["template"] + groups["hand"]

    def mean(idx: list[int], key: str) -> float:
        return float(np.mean([float(scored[i][key]) for i in idx])) if idx else float("nan")

    ms = [s["ms"] for s in scored]
    return {"intent_accuracy": mean(inscope, "intent_ok"), "linking_accuracy": mean(groups["answerable"], "link_ok"),
            "answer_f1": mean(inscope, "f1"), "answer_f1_template": mean(groups["template"], "f1"),
            "answer_f1_hand": mean(groups["hand"], "f1"),
            "abstention_out_of_scope": mean(groups["oos"], "abstained"),
            "abstention_unknown_entity": mean(groups["unknown"], "abstained"),
            "false_abstention": mean(groups["answerable"], "abstained"),
            "questions": float(len(questions)), "ms_median": float(np.median(ms)) if ms else float("nan")}


def errors(questions: list[dict[str, Any]], results: list[dict[str, Any]], k: int = 30) -> list[dict[str, Any]]:
    """The first k questions scored below 1 (for the docs and for tuning on validation)."""
    out = []
    for q, r in zip(questions, results, strict=True):
        s = score_one(q, r)
        if s["f1"] < 1.0:
            interp = r.get("interpretation") or {}
            out.append({"question": q["question"], "gold_intent": q["intent"], "got_intent": interp.get("intent"),
                        "reason": r.get("reason"), "gold_entities": q["entities"],
                        "got_entities": [(e["id"], e["name"], e["method"]) for e in interp.get("entities", [])],
                        "f1": round(s["f1"], 3)})
    return out[:k]
