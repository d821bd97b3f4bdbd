"""The question set: phrasings filled with graph entities (names, synonyms, brand names, typos, plurals, lower
case), gold answers computed from the graph by the catalogue query with the gold entity ids, out-of-scope and
unknown-entity questions. Split by phrasing family (a template or hand paraphrase is on one side only)."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gnn.qa.catalogue import INTENTS, MAX_ANSWERS, OUT_OF_SCOPE, explain_cypher
from gnn.qa.linker import Gazetteer, choose, normalise
from gnn.qa.templates import HAND, TEMPLATES, UNKNOWN_NAMES
from gnn.qa.templates import OUT_OF_SCOPE as OOS_FAMILIES

Reader = Callable[[str, dict[str, Any]], list[dict[str, Any]]]
SPLITS = ("train", "val", "test")
_SLOT = re.compile(r"\{([a-z_0-9]+)\}")
SLOT_LABEL = {"drug": "Drug", "drug2": "Drug", "drug3": "Drug", "disease": "Disease", "symptom": "Symptom",
              "symptom2": "Symptom", "side_effect": "SideEffect", "class": "PharmacologicClass"}
ANCHORS = {
    "treats": "MATCH (x:Disease)<-[:TREATS]-() RETURN DISTINCT x.id AS id",
    "palliates": "MATCH (x:Disease)<-[:PALLIATES]-() RETURN DISTINCT x.id AS id",
    "side_effects": "MATCH (x:Drug)-[:CAUSES]->() RETURN DISTINCT x.id AS id",
    "drugs_causing": "MATCH (x:SideEffect)<-[:CAUSES]-() RETURN DISTINCT x.id AS id",
    "symptoms": "MATCH (x:Disease)-[:PRESENTS]->() RETURN DISTINCT x.id AS id",
    "differential": "MATCH (x:Disease)-[:PRESENTS]->(s:Symptom) WITH x, collect(DISTINCT s.id) AS s "
                    "WHERE size(s) >= 2 RETURN x.id AS id, s AS symptoms",
    "genes": "MATCH (x:Disease)-[:ASSOCIATES]->() RETURN DISTINCT x.id AS id",
    "targets": "MATCH (x:Drug)-[:BINDS]->() RETURN DISTINCT x.id AS id",
    "class_members": "MATCH (x:PharmacologicClass)-[:INCLUDES]->() RETURN DISTINCT x.id AS id",
    "drug_classes": "MATCH (x:Drug)<-[:INCLUDES]-() RETURN DISTINCT x.id AS id",
    "interactions": "MATCH (x:Drug)-[:INTERACTS_WITH]-() WHERE x.id STARTS WITH 'DB' AND (x)-[:TREATS|BINDS]->() "
                    "RETURN DISTINCT x.id AS id",
    "interaction_check": "MATCH (x:Drug)-[:INTERACTS_WITH]-(y:Drug) WHERE x.id < y.id AND x.id STARTS WITH 'DB' "
                         "AND y.id STARTS WITH 'DB' AND (x)-[:TREATS|BINDS]->() AND (y)-[:TREATS|BINDS]->() "
                         "RETURN x.id AS id, y.id AS other LIMIT 20000",
    "localizes": "MATCH (x:Disease)-[:LOCALIZES]->() RETURN DISTINCT x.id AS id",
    "resembles": "MATCH (x:Disease)-[:RESEMBLES]-(:Disease) RETURN DISTINCT x.id AS id",
    "explain": "MATCH (d:Drug)-[:TREATS]->(x:Disease) RETURN d.id AS drug, x.id AS id",
    "predicted_treats": "MATCH (x:Disease)<-[:PREDICTED_TREATS]-() RETURN DISTINCT x.id AS id",
    "predicted_side_effects": "MATCH (x:Drug)-[:PREDICTED_CAUSES]->() RETURN DISTINCT x.id AS id",
    "predicted_interactions": "MATCH (x:Drug)-[:PREDICTED_INTERACTS_WITH]-() RETURN DISTINCT x.id AS id",
}


BASE_INTENT = {"predicted_treats": "treats", "predicted_side_effects": "side_effects",
               "predicted_interactions": "interactions"}


def typo(word: str, rng: random.Random) -> str:
    """One edit (drop, swap or double a letter) in the longest word of 6+ letters; unchanged if none."""
    words = word.split()
    i = max(range(len(words)), key=lambda j: len(words[j]))
    w = words[i]
    if len(w) < 6 or not w.isalpha():
        return word
    p = rng.randrange(1, len(w) - 2)
    op = rng.choice(("drop", "swap", "double"))
    w = w[:p] + w[p + 1:] if op == "drop" else w[:p] + w[p + 1] + w[p] + w[p + 2:] if op == "swap" \
        else w[:p] + w[p] + w[p:]
    words[i] = w
    return " ".join(words)


class Surface:
    """The ways a question may name an entity: forms that the gazetteer resolves back to that id uniquely."""

    def __init__(self, rows: list[dict[str, Any]], gaz: Gazetteer) -> None:
        self.forms: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for r in rows:
            key = (r["label"], r["id"])
            forms = [(r.get("name") or "", "name")] + [(s, "synonym") for s in r.get("synonyms") or []] + \
                    [(b, "brand") for b in r.get("brand_names") or []]
            for text, kind in forms:
                entries, _ = gaz.lookup(normalise(text))
                best, _ = choose(entries, r["label"]) if entries else (None, [])
                if best is not None and best.id == r["id"] and 3 <= len(text) <= 60:
                    self.forms[key].append((text, kind))

    def usable(self, label: str, node_id: str) -> bool:
        return any(k == "name" for _, k in self.forms.get((label, node_id), []))

    def pick(self, label: str, node_id: str, rng: random.Random) -> tuple[str, str]:
        forms = self.forms[(label, node_id)]
        name = next(t for t, k in forms if k == "name")
        aliases = [(t, k) for t, k in forms if k != "name" and len(t) <= 40]
        r = rng.random()
        if r < 0.2 and aliases:
            return rng.choice(aliases)
        if r < 0.35:
            t = typo(name, rng)
            return (t, "typo") if t != name else (name, "name")
        if r < 0.45 and label in ("Symptom", "SideEffect") and " " not in name and not name.endswith("s"):
            return name.lower() + "s", "plural"
        if r < 0.6:
            return name.lower(), "lower"
        return name, "name"


def families(seed: int) -> dict[str, str]:
    """phrasing family -> split: per intent (and for out-of-scope groups) ~50 % train, 20 % val, 30 % test."""
    rng = random.Random(seed)
    out: dict[str, str] = {}
    groups = {i: [f"t:{i}:{n}" for n in range(len(TEMPLATES.get(i, [])))] +
              [f"h:{i}:{n}" for n in range(len(HAND.get(i, [])))] for i in INTENTS}
    groups[OUT_OF_SCOPE] = [f"o:{n}" for n in range(len(OOS_FAMILIES))]
    for fams in groups.values():
        fams = fams[:]
        rng.shuffle(fams)
        n = len(fams)
        n_val, n_test = max(1, round(0.2 * n)), max(1, round(0.3 * n))
        for j, f in enumerate(fams):
            out[f] = "val" if j < n_val else "test" if j < n_val + n_test else "train"
    return out


def phrasing(family: str) -> str:
    kind, *rest = family.split(":")
    if kind == "o":
        return ""
    intent, n = rest
    return (TEMPLATES if kind == "t" else HAND)[intent][int(n)]


def gold_answers(reader: Reader, intent: str, params: dict[str, Any]) -> list[str]:
    cypher = explain_cypher() if intent == "explain" else INTENTS[intent].cypher
    p = {**params, "limit": MAX_ANSWERS, **({"k": 5} if intent == "explain" else {})}
    rows = reader(cypher, p)
    if intent == "explain":
        return [" ".join(f"{e['from']}-{e['type']}->{e['to']}" for e in r["edges"]) for r in rows]
    return [r["id"] for r in rows]


def build(reader: Reader, rows: list[dict[str, Any]], seed: int, per_family: int = 3,
          progress: bool = False) -> list[dict[str, Any]]:
    """The full question set for one seed (one family split, one entity sample)."""
    rng = random.Random(seed)
    gaz = Gazetteer(rows)
    surf = Surface(rows, gaz)
    split = families(seed)
    types = {r["type"] for r in reader("CALL db.relationshipTypes() YIELD relationshipType "
                                       "RETURN relationshipType AS type", {})}
    anchors: dict[str, list[dict[str, Any]]] = {}
    missing: set[str] = set()
    for intent, q in ANCHORS.items():
        pred = INTENTS[intent].prediction
        if pred and pred not in types:  # no predictions of this kind yet: the right answer is an abstention
            missing.add(intent)
            q = ANCHORS[BASE_INTENT[intent]]
        anchors[intent] = reader(q, {})
    out: list[dict[str, Any]] = []
    fams = sorted(split)
    it = fams
    if progress:
        from tqdm import tqdm

        it = tqdm(fams, desc="questions", unit="family")
    for fam in it:
        if fam.startswith("o:"):
            for text in OOS_FAMILIES[int(fam[2:])]:
                filled, ents = _fill_any(text, rows, surf, rng)
                out.append(_record(fam, "oos", split[fam], OUT_OF_SCOPE, filled, ents, {}, [], True))
            continue
        intent = fam.split(":")[1]
        if not anchors.get(intent):
            continue
        text = phrasing(fam)
        kind = "template" if fam.startswith("t:") else "hand"
        for _ in range(per_family):
            params, slot_ids = _sample(intent, text, anchors[intent], surf, rng)
            if params is None:
                continue
            filled, ents = _fill(text, slot_ids, surf, rng)
            answers = [] if intent in missing else gold_answers(reader, intent, params)
            out.append(_record(fam, kind, split[fam], intent, filled, ents, params, answers, intent in missing))
        # one unknown-entity question per family: a made-up name in the first slot
        slot = _SLOT.findall(text)[0]
        params, slot_ids = _sample(intent, text, anchors[intent], surf, rng)
        if params is not None:
            fake = rng.choice(UNKNOWN_NAMES)
            filled, ents = _fill(text, {**slot_ids, slot: None}, surf, rng, fake=fake)
            out.append(_record(fam, "unknown", split[fam], intent, filled, ents, {}, [], True))
    return out


def _record(fam: str, kind: str, split: str, intent: str, question: str, ents: dict[str, Any],
            params: dict[str, Any], answers: list[str], abstain: bool) -> dict[str, Any]:
    return {"family": fam, "kind": kind, "split": split, "intent": intent, "question": question, "entities": ents,
            "params": params, "answers": answers, "abstain": abstain}


def _ok(surf: Surface, label: str, node_id: str) -> bool:
    return surf.usable(label, node_id)


def _sample(intent: str, text: str, anchors: list[dict[str, Any]], surf: Surface, rng: random.Random
            ) -> tuple[dict[str, Any] | None, dict[str, str]]:
    slots = _SLOT.findall(text)
    for _ in range(50):
        a = rng.choice(anchors)
        if intent == "differential":
            syms = [s for s in a["symptoms"] if _ok(surf, "Symptom", s)]
            need = 2 if "symptom2" in slots else 1
            if len(syms) < need:
                continue
            chosen = rng.sample(syms, need)
            return {"symptoms": chosen}, dict(zip(["symptom", "symptom2"][:need], chosen, strict=True))
        if intent == "interaction_check":
            ids = [a["id"], a["other"]]
            if "drug3" in slots:
                ids.append(rng.choice(anchors)["id"])
            if len(set(ids)) < len(ids) or not all(_ok(surf, "Drug", i) for i in ids):
                continue
            return {"drugs": ids}, dict(zip(["drug", "drug2", "drug3"], ids, strict=False))
        if intent == "explain":
            if _ok(surf, "Drug", a["drug"]) and _ok(surf, "Disease", a["id"]):
                return {"drug": a["drug"], "disease": a["id"]}, {"drug": a["drug"], "disease": a["id"]}
            continue
        slot = INTENTS[intent].slots[0]
        name = {"Disease": "disease", "Drug": "drug", "SideEffect": "side_effect",
                "PharmacologicClass": "class"}[slot.labels[0]]
        if _ok(surf, slot.labels[0], a["id"]):
            params: dict[str, Any] = {slot.name: a["id"]}
            if intent == "interactions":
                params["major_only"] = bool(re.search(r"\b(major|severe|serious|dangerous)\b", text, re.I))
            return params, {name: a["id"]}
    return None, {}


def _fill(text: str, slot_ids: dict[str, str | None], surf: Surface, rng: random.Random, fake: str | None = None
          ) -> tuple[str, dict[str, Any]]:
    values, ents = {}, {}
    for slot in _SLOT.findall(text):
        node_id = slot_ids.get(slot)
        if node_id is None:
            values[slot], ents[slot] = fake or "", {"id": None, "form": "unknown", "text": fake}
            continue
        form, how = surf.pick(SLOT_LABEL[slot], node_id, rng)
        values[slot], ents[slot] = form, {"id": node_id, "label": SLOT_LABEL[slot], "form": how, "text": form}
    q = text.format(**values)
    if rng.random() < 0.2:
        q = q.lower()
    return q, ents


def _fill_any(text: str, rows: list[dict[str, Any]], surf: Surface, rng: random.Random) -> tuple[str, dict]:
    slots = _SLOT.findall(text)
    ids = {}
    for slot in slots:
        label = SLOT_LABEL[slot]
        pool = [r["id"] for r in rows if r["label"] == label and r.get("degree", 0) >= 20]
        for _ in range(50):
            cand = rng.choice(pool)
            if surf.usable(label, cand):
                ids[slot] = cand
                break
    return _fill(text, ids, surf, rng)


def save(questions: list[dict[str, Any]], path: Path) -> None:
    path.write_text("".join(json.dumps(q) + "\n" for q in questions))
