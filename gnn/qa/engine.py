"""The question-answering runtime: question -> mentions -> intent -> slots -> catalogue query -> answer with
evidence, or an abstention with its reason. All graph access goes through the injected `reader` (the API passes
its one Neo4j gateway), so this module holds no driver and builds no Cypher from user text."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gnn.qa.catalogue import INTENTS, MAX_ANSWERS, OUT_OF_SCOPE, Intent, browser_text, explain_cypher
from gnn.qa.classifier import IntentClassifier
from gnn.qa.cues import oos_cue
from gnn.qa.linker import (
    VECTOR_MIN_COSINE,
    DrugMatchFn,
    Gazetteer,
    Link,
    VectorFn,
    choose,
    leftover_runs,
    mask,
    question_vocabulary,
)

Reader = Callable[[str, dict[str, Any]], list[dict[str, Any]]]
CheckFn = Callable[[list[str]], dict[str, Any]]
MAJOR_WORDS = re.compile(r"\b(major|severe|serious|dangerous|danger)\b", re.I)
VECTOR_LABELS = ("Disease", "Symptom", "SideEffect")
MAX_PREDICTIONS = 50  # predicted side effects attached to an answer without recorded ones
PREDICTED = "predicted, not from a source"
PARTIAL_MIN = 0.5  # a mention covering at most half of its run of unknown words is not trusted
SUMMARY = {
    "treats": "{n} drug(s) treat {e0} in the graph{top}.",
    "palliates": "{n} drug(s) relieve the symptoms of {e0}{top}.",
    "side_effects": "{e0} has {n} reported side effect(s){top}.",
    "drugs_causing": "{n} drug(s) are reported to cause {e0}{top}.",
    "symptoms": "{e0} presents with {n} symptom(s){top}.",
    "differential": "{n} disease(s) present with {e0}{top}.",
    "genes": "{n} gene(s) are associated with {e0}{top}.",
    "targets": "{e0} binds {n} target(s){top}.",
    "class_members": "{n} drug(s) belong to the class {e0}{top}.",
    "drug_classes": "{e0} belongs to {n} pharmacologic class(es){top}.",
    "interactions": "{e0} has {n} {major}interacting drug(s) in the graph{top}.",
    "interaction_check": "{n} interacting pair(s) among {e0}{top}.",
    "localizes": "{e0} localises to {n} anatomical site(s){top}.",
    "resembles": "{n} disease(s) resemble {e0}{top}.",
    "explain": "{n} graph path(s) support {e0} for {e1}{top}.",
    "predicted_treats": "Prediction, not fact: {n} drug(s) are predicted to treat {e0}{top}.",
    "predicted_side_effects": "Prediction, not fact: {n} side effect(s) are predicted for {e0}{top}.",
    "predicted_interactions": "Prediction, not fact: {n} drug(s) are predicted to interact with {e0}{top}.",
}


def below_thresholds(p: float, sim: float, cue: bool, tau: float, min_sim: float, tau_cue: float) -> bool:
    """The abstention thresholds' verdict on one question (out of scope when true): top intent probability `p`
    below `tau`, similarity to in-scope training questions below `min_sim`, or an out-of-scope cue with `p`
    below `tau_cue`. Served answers and the validation sweep (`QAFamily._tune`) both decide with it."""
    return p < tau or sim < min_sim or (cue and p < tau_cue)


def _licenses() -> dict[str, str]:
    from kg.schema import get_schema

    return {k: s.license for k, s in get_schema().sources.items()}


def _as_list(v: Any) -> list:
    return [] if v is None else list(v) if isinstance(v, list | tuple) else [v]


def clean_fact(raw: dict[str, Any], licenses: dict[str, str]) -> dict[str, Any]:
    """A relationship map from the catalogue -> {relationship, sources, licenses, ...its other properties}."""
    fact = {k: v for k, v in raw.items() if v is not None and k not in ("build_id", "type", "source", "sources",
                                                                         "license", "licenses", "text_embedding")}
    sources = _as_list(raw.get("sources")) or _as_list(raw.get("source"))
    lic = _as_list(raw.get("licenses")) or _as_list(raw.get("license")) or \
        [licenses[s] for s in sources if s in licenses]
    out = {"relationship": raw.get("type"), "sources": sources, "licenses": lic, **fact}
    if str(raw.get("type", "")).startswith("PREDICTED_"):
        out["prediction"] = True
    return out


@dataclass
class Interpretation:
    intent: str
    probability: float
    entities: list[Link]
    slots: dict[str, list[Link]]
    flags: dict[str, Any]
    alternatives: list[dict[str, Any]]


class QAEngine:
    """One per process: the gazetteer and classifier in memory, the graph behind `reader`."""

    def __init__(self, gazetteer: Gazetteer, classifier: IntentClassifier, reader: Reader, *,
                 encoder: Any | None = None, vector: VectorFn | None = None, drug_match: DrugMatchFn | None = None,
                 check: CheckFn | None = None, available_types: set[str] | None = None,
                 model_run: str | None = None, fuzzy: bool = True, compat_depth: int = 99,
                 vocabulary: set[str] | None = None) -> None:
        self.fuzzy = fuzzy
        self.compat_depth = compat_depth  # how far down the intent ranking to look for a fillable intent
        self.gaz, self.clf, self.reader = gazetteer, classifier, reader
        self.encoder, self.vector, self.drug_match, self.check = encoder, vector, drug_match, check
        self.available_types = available_types
        self.model_run = model_run
        self.vocabulary = vocabulary if vocabulary is not None else question_vocabulary()
        self.licenses = _licenses()

    # -- interpretation --------------------------------------------------------------------------
    def classify(self, question: str) -> tuple[list[str], list, list[tuple[str, float]], float, bool]:
        """Tokens, entity mentions, the ranked intents, the similarity to in-scope training questions, and
        whether the masked question carries an out-of-scope cue."""
        tokens, mentions = self.gaz.scan(question)
        if self.fuzzy:
            mentions = self.gaz.typo_mentions(tokens, mentions, self.vocabulary)
        masked, counts = mask(tokens, mentions, self.vocabulary)
        if hasattr(self.clf, "proba_similarity"):
            probs, sim = self.clf.proba_similarity([masked], [counts], self.encoder)
            probs, similarity = probs[0], float(sim[0])
        else:
            probs, similarity = self.clf.proba([masked], [counts], self.encoder)[0], 1.0
        ranked = sorted(zip(self.clf.classes, probs.tolist(), strict=True), key=lambda t: -t[1])
        return tokens, mentions, ranked, similarity, oos_cue(masked)

    def _compatible(self, ranked: list[tuple[str, float]], tokens: list[str], mentions: list
                    ) -> tuple[str, float]:
        """The best-ranked intent whose entity slots the question can fill: "side effects of X" with X a drug is
        not "drugs causing X", a question naming only a side effect is not "palliates"; two or more drugs make an
        interaction check. A run of unknown words may stand for one missing entity (an unknown name: the intent
        still wins and the answer is an `unknown_entity` abstention). Out of scope wins where it ranks first or
        before every fillable intent."""
        top, p = ranked[0]
        if top == OUT_OF_SCOPE:
            return top, p
        labels = [m.labels() for m in mentions]
        drugs = sum("Drug" in ls for ls in labels)
        if top == "interactions" and drugs >= 2:
            return "interaction_check", p
        if top == "interaction_check" and drugs == 1 and not leftover_runs(tokens, mentions, self.vocabulary):
            return "interactions", p
        wild = len(leftover_runs(tokens, mentions, self.vocabulary))

        def fillable(name: str) -> bool:
            free, spare = list(labels), wild
            for slot in INTENTS[name].slots:
                have = [ls for ls in free if any(lab in ls for lab in slot.labels)]
                if len(have) < slot.min_count:
                    if len(have) + spare < slot.min_count:
                        return False
                    spare -= slot.min_count - len(have)
                for ls in have[: (len(have) if slot.many else 1)]:
                    free.remove(ls)
            return True

        for name, prob in ranked[: self.compat_depth]:
            if prob > 0 and (name == OUT_OF_SCOPE or fillable(name)):  # 0: a rule-based baseline's "no"
                return name, prob
        return top, p

    def _fill(self, intent: Intent, tokens: list[str], mentions: list, question: str
              ) -> tuple[dict[str, list[Link]], list[Link], list[dict[str, Any]]]:
        """Links for each slot; returns (slots, all links, problems)."""
        slots: dict[str, list[Link]] = {}
        problems: list[dict[str, Any]] = []
        used: set[int] = set()
        runs = leftover_runs(tokens, mentions, self.vocabulary)
        covered = {i for m in mentions for i in range(m.start, m.end)}
        for slot in intent.slots:
            links: list[Link] = []
            for label in slot.labels:
                for idx, m in enumerate(mentions):
                    if idx in used or label not in m.labels():
                        continue
                    ext = self._extended(tokens, m, covered)
                    if ext is not None and self.fuzzy:
                        better = self._fuzzy(ext, (label,), vector=False)
                        if better is not None:
                            runs[:] = [r for r in runs if r not in ext]
                            links.append(better)
                            used.add(idx)
                            if not slot.many:
                                break
                            continue
                    best, cands = choose(m.entries, label)
                    alts = [{"id": e.id, "name": e.name, "label": e.label, "matched": e.kind, "degree": e.degree}
                            for e in cands[:5]]
                    if best is None:
                        problems.append({"reason": "ambiguous", "text": m.text, "label": label, "candidates": alts})
                        used.add(idx)
                        continue
                    conf = {"name": 1.0, "synonym": 0.95, "brand": 0.95}[best.kind] * \
                        {"singular": 0.97, "fuzzy": 0.9 * m.score}.get(m.variant, 1.0)
                    if ext is not None:  # "Krelloid syndrome": only part of the name is known
                        conf *= (m.end - m.start) / len(ext.split())
                        if conf <= PARTIAL_MIN:
                            used.add(idx)
                            continue
                    method = "fuzzy" if m.variant == "fuzzy" else f"{best.kind}-{m.variant}"
                    links.append(Link(m.text, label, best.id, best.name, conf, method, m.start,
                                      m.end, [a for a in alts if a["id"] != best.id]))
                    used.add(idx)
                    if not slot.many:
                        break
                if links and not slot.many:
                    break
            if self.fuzzy and (len(links) < slot.min_count or slot.many):
                for run in list(runs):
                    if len(links) >= slot.min_count and not slot.many:
                        break
                    link = self._fuzzy(run, slot.labels)
                    if link is not None:
                        links.append(link)
                        runs.remove(run)
            if len(links) < slot.min_count and not any(p["reason"] == "ambiguous" for p in problems):
                problems.append({"reason": "unknown_entity", "slot": slot.name, "labels": list(slot.labels),
                                 "text": " ".join(runs) or None,
                                 "candidates": self._suggest(" ".join(runs), slot.labels)})
            slots[slot.name] = links if slot.many else links[:1]
        entities = sorted((lk for v in slots.values() for lk in v), key=lambda lk: lk.start)
        return slots, entities, problems

    def _extended(self, tokens: list[str], m: Any, covered: set[int]) -> str | None:
        """The run of unknown words (neither phrasing words nor other mentions) around a mention when it is longer
        than the mention ("uternie cancer" around "cancer"), else None."""
        lo, hi = m.start, m.end
        while lo > 0 and tokens[lo - 1] not in self.vocabulary and lo - 1 not in covered:
            lo -= 1
        while hi < len(tokens) and tokens[hi] not in self.vocabulary and hi not in covered:
            hi += 1
        return " ".join(tokens[lo:hi]) if (lo, hi) != (m.start, m.end) else None

    def _fuzzy(self, run: str, labels: tuple[str, ...], vector: bool = True) -> Link | None:
        for label in labels:
            if label == "Drug" and self.drug_match is not None:
                hit = self.drug_match(run)
                if hit is not None:
                    did, matched, score = hit
                    return Link(run, "Drug", did, self.gaz.names.get(("Drug", did), matched), score, "drug-lookup")
            found = self.gaz.fuzzy(run, label)
            if found:
                e, score = found[0]
                alts = [{"id": o.id, "name": o.name, "label": o.label, "score": round(s, 3)} for o, s in found[1:4]]
                return Link(run, label, e.id, e.name, 0.9 * score, "fuzzy", alternatives=alts)
        for label in labels if vector else ():
            if label in VECTOR_LABELS and self.vector is not None and len(run) >= 4:
                hits = self.vector(label, run, 3)
                if hits and hits[0]["cosine"] >= VECTOR_MIN_COSINE:
                    h = hits[0]
                    return Link(run, label, h["id"], h["name"], float(h["cosine"]), "vector",
                                alternatives=[{"id": o["id"], "name": o["name"], "label": label,
                                               "score": round(float(o["cosine"]), 3)} for o in hits[1:]])
        return None

    def _suggest(self, text: str, labels: tuple[str, ...]) -> list[dict[str, Any]]:
        if not text:
            return []
        out = []
        for label in labels:
            out += [{"id": e.id, "name": e.name, "label": e.label, "score": round(s, 3)}
                    for e, s in self.gaz.fuzzy(text, label, k=5, cutoff=60)]
        return sorted(out, key=lambda c: -c["score"])[:5]

    # -- answering -------------------------------------------------------------------------------
    def ask(self, question: str) -> dict[str, Any]:
        t0 = time.perf_counter()
        q = (question or "").strip()
        if not q:
            return self._abstain(q, "empty", "the question is empty", None, t0)
        tokens, mentions, ranked, sim, cue = self.classify(q)
        top, p = self._compatible(ranked, tokens, mentions)
        alts = [{"intent": i, "probability": round(pr, 3)} for i, pr in ranked[:3]]
        if top == OUT_OF_SCOPE or below_thresholds(p, sim, cue, self.clf.threshold,
                                                   getattr(self.clf, "min_similarity", 0.0),
                                                   getattr(self.clf, "oos_cue_threshold", 0.0)):
            why = ("the question is outside what the graph holds (drugs, diseases, symptoms, side effects, genes, "
                   "classes, interactions); it holds no dosing, prognosis, prices or general knowledge")
            return self._abstain(q, "out_of_scope", why, {"intent": top, "probability": round(p, 3),
                                                          "similarity": round(sim, 3), "oos_cue": cue,
                                                          "alternatives": alts}, t0)
        intent = INTENTS[top]
        slots, entities, problems = self._fill(intent, tokens, mentions, q)
        interp = {"intent": top, "description": intent.description, "probability": round(p, 3),
                  "similarity": round(sim, 3), "oos_cue": cue,
                  "alternatives": alts, "entities": [e.to_dict() for e in entities],
                  "flags": {"major_only": bool(MAJOR_WORDS.search(q))} if "major_only" in intent.flags else {}}
        if problems:
            prob = problems[0]
            reason = prob["reason"]
            msg = (f"'{prob['text']}' could mean several {prob['label']} entries and none is a clear winner"
                   if reason == "ambiguous" else
                   f"no {' or '.join(prob['labels'])} in the graph matches"
                   + (f" '{prob['text']}'" if prob.get("text") else " the question"))
            return self._abstain(q, reason, msg, interp, t0, candidates=prob.get("candidates"))
        if intent.prediction and self.available_types is not None and intent.prediction not in self.available_types:
            return self._abstain(q, "not_available", f"the graph holds no {intent.prediction} predictions yet",
                                 interp, t0)
        params: dict[str, Any] = {}
        for slot in intent.slots:
            ids = [lk.id for lk in slots[slot.name]]
            params[slot.name] = list(dict.fromkeys(ids)) if slot.many else ids[0]
        params.update(interp["flags"])
        params["limit"] = MAX_ANSWERS
        extra: dict[str, Any] = {}
        truncated = False
        if top == "explain":
            params["k"] = 5
            cypher = explain_cypher()
            rows = self.reader(cypher, params)
            answers = self._paths(rows)
        else:
            cypher = intent.cypher
            # one row beyond the limit tells a complete answer of exactly MAX_ANSWERS from a cut one; the Cypher
            # shown keeps the limit, so in the Browser it returns exactly the answers listed
            rows = self.reader(cypher, {**params, "limit": MAX_ANSWERS + 1})
            truncated = len(rows) > MAX_ANSWERS
            answers = [{"id": r["id"], "name": r["name"], "label": r["label"],
                        "facts": [clean_fact(f, self.licenses) for f in r["facts"]]} for r in rows[:MAX_ANSWERS]]
            if top == "interaction_check" and self.check is not None:
                extra["check"] = self.check(params["drugs"])
            if top == "side_effects" and not answers:  # no recorded profile: say so, predictions kept apart
                extra["predictions"] = self._predicted_side_effects(params["drug"])
        if intent.prediction:
            for a in answers:
                a["prediction"] = True
        names = {s: ", ".join(lk.name or lk.id or "" for lk in v) for s, v in slots.items()}
        e = [names[s.name] for s in intent.slots]
        summary = self._summary(top, answers, e, bool(interp["flags"].get("major_only")), truncated)
        if "predictions" in extra:
            summary = self._no_profile_summary(e[0], extra["predictions"])
        return {"question": q, "abstained": False, "reason": None, "interpretation": interp, "answers": answers,
                "count": len(answers), "truncated": truncated, "summary": summary,
                "cypher": {"query": cypher, "params": params, "browser": browser_text(cypher, params)},
                "model_run": self.model_run, "ms": round(1000 * (time.perf_counter() - t0), 2), **extra}

    def _predicted_side_effects(self, drug_id: str) -> dict[str, Any]:
        """The side-effect model's PREDICTED_CAUSES for a drug without recorded side effects, as a block of its
        own: each item with its probability and model run, none of them a recorded fact."""
        intent = INTENTS["predicted_side_effects"]
        params = {"drug": drug_id, "limit": MAX_PREDICTIONS}
        items = []
        rows = self.reader(intent.cypher, {**params, "limit": MAX_PREDICTIONS + 1})  # one more: is it cut?
        for r in rows[:MAX_PREDICTIONS]:
            best = max(r["facts"], key=lambda f: float(f.get("probability") or 0.0), default={})
            items.append({"id": r["id"], "name": r["name"], "label": r["label"], "status": PREDICTED,
                          "probability": best.get("probability"), "model_run": best.get("model_run"),
                          "relationship": intent.prediction})
        return {"status": PREDICTED, "relationship": intent.prediction, "count": len(items),
                "truncated": len(rows) > MAX_PREDICTIONS,
                "model_runs": sorted({str(i["model_run"]) for i in items if i["model_run"]}), "items": items,
                "cypher": {"query": intent.cypher, "params": params, "browser": browser_text(intent.cypher, params)}}

    @staticmethod
    def _no_profile_summary(drug: str, pred: dict[str, Any]) -> str:
        head = f"{drug} has no recorded side effects in the graph (no source lists any)"
        if not pred["items"]:
            return head + "; the graph holds no predicted side effects for it either."
        names = ", ".join(f"{i['name']} ({float(i['probability'] or 0):.2f})" for i in pred["items"][:3])
        more = pred["count"] - min(3, pred["count"])
        return (f"{head}. Predicted, not from a source: the side-effect model ({', '.join(pred['model_runs'])}) "
                f"predicts {'more than ' if pred.get('truncated') else ''}{pred['count']}, listed apart under "
                f"`predictions`: {names}"
                + (f" and {more} more." if more > 0 else "."))

    def _paths(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in sorted(rows, key=lambda r: -float(r["weight"])):
            edges = r["edges"]
            pid = " ".join(f"{e['from']}-{e['type']}->{e['to']}" for e in edges)
            facts = [{"relationship": e["type"], "from": e["from"], "to": e["to"], "sources": _as_list(e["sources"]),
                      "licenses": [self.licenses[s] for s in _as_list(e["sources"]) if s in self.licenses]}
                     for e in edges]
            out.append({"id": pid, "name": " -> ".join(str(n) for n in r["names"]), "label": "Path",
                        "metapath": r["metapath"], "weight": round(float(r["weight"]), 4), "facts": facts})
        return out[:MAX_ANSWERS]

    @staticmethod
    def _summary(intent: str, answers: list[dict[str, Any]], e: list[str], major: bool, truncated: bool = False
                 ) -> str:
        """One sentence from the answers; a cut answer says "more than N" and that the first N are listed."""
        names = [str(a["name"]) for a in answers[:3]]
        top = ""
        if names:
            more = len(answers) - len(names)
            top = ": " + ", ".join(names) + (f" and {more} more" if more > 0 else "")
        n = f"more than {len(answers)}" if truncated else str(len(answers))
        text = SUMMARY[intent].format(n=n, e0=e[0] if e else "", e1=e[1] if len(e) > 1 else "", top=top,
                                      major="Major " if major else "")
        return text[:-1] + f" (the first {len(answers)} listed, most relevant first)." if truncated else text

    def _abstain(self, q: str, reason: str, message: str, interp: dict[str, Any] | None, t0: float,
                 candidates: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"question": q, "abstained": True, "reason": reason, "message": message, "interpretation": interp,
                "candidates": candidates or [], "answers": [], "count": 0, "truncated": False,
                "summary": f"Not answered: {message}.", "cypher": None, "model_run": self.model_run,
                "ms": round(1000 * (time.perf_counter() - t0), 2)}


def gazetteer_query() -> str:
    """Every linkable node's names for the gazetteer (read once per process)."""
    return ("MATCH (n) WHERE n:Drug OR n:Disease OR n:Symptom OR n:SideEffect OR n:PharmacologicClass\n"
            "RETURN [l IN labels(n) WHERE l IN ['Drug','Disease','Symptom','SideEffect','PharmacologicClass']][0] "
            "AS label, n.id AS id, n.name AS name, n.synonyms AS synonyms, n.brand_names AS brand_names, "
            "COUNT { (n)--() } AS degree")


def relationship_types_query() -> str:
    return "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType AS type"
