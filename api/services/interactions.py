"""Drug-drug interaction checks: all pairs from the in-memory store of the complete build (or one Cypher
round trip while it loads or a build is in progress), severity scale, coverage wording."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from itertools import combinations
from typing import Any

from neo4j import Driver
from pydantic_core import from_json, to_json

from api.services.db import run_read
from api.services.ddi_predictions import LABEL as PREDICTED_LABEL
from api.services.ddi_predictions import PredictionService, shared_predictions
from api.services.graph_index import (
    BUILD_ID,
    DDI86,
    DDINTER,
    DDINTER_GROUPS,
    DDINTER_MISSING_GROUPS,
    BuildClock,
    BuildState,
    GraphIndex,
    cached_index,
    get_index,
)
from api.services.lookup import DrugLookup, EntryMatch
from api.services.lru import Lru
from api.services.pair_answers import (
    GRADED,
    NO_KNOWN,
    NOT_COVERED,
    NOT_GRADED,
    SEVERITY_ORDER,
    PairAnswer,
    graded,
    groups_text,
    json_array,
    json_object,
    pair_answer,
    pair_coverage,
)
from api.services.pair_store import PairStore, cached_store, load_in_background
from kg.errors import InvalidInput, NotFound
from kg.schema import get_schema

MAX_PAGE = 200
ENTRY_CACHE = 4096  # resolved list entries per process (the names people type recur)
ANSWER_CACHE = 50_000  # serialised pair answers per process (~1.3-2 KB each, <= ~100 MB): pairs recur across lists
PairFacts = Callable[[str, str], list[dict]]
_FACT = """{subject: startNode(r).id, object: endNode(r).id, source: r.source, license: r.license,
            source_version: r.source_version, severity: r.severity, mechanism: r.mechanism, ddi_type: r.ddi_type}"""

CHECK_QUERY = f"""
MATCH (n:Drug) WHERE n.id IN $ids
WITH collect(n) AS ns
RETURN [n IN ns | {{id: n.id, name: n.name}}] AS found,
       COLLECT {{ UNWIND ns AS a MATCH (a)-[r:INTERACTS_WITH]->(b) WHERE b IN ns RETURN {_FACT} }} AS facts,
       {BUILD_ID} AS build_id
"""

DRUG_QUERY = f"""
MATCH (d:Drug {{id: $id}})
WITH d, COLLECT {{
  MATCH (d)-[r:INTERACTS_WITH]-(o:Drug)
  WITH o, collect(r) AS rs
  WITH o, rs, head([r IN rs WHERE r.source = $ddinter | r.severity]) AS grade
  WITH o, rs, CASE WHEN grade IN $graded THEN grade ELSE $not_graded END AS severity
  WHERE size($severities) = 0 OR severity IN $severities
  WITH o, rs, severity, CASE severity WHEN 'Major' THEN 0 WHEN 'Moderate' THEN 1 WHEN 'Minor' THEN 2 ELSE 3 END AS rank
  ORDER BY rank, toLower(o.name), o.id
  RETURN {{o: o, rs: rs}}
}} AS partners
WITH d, size(partners) AS total, partners[$offset..$offset + $limit] AS page
RETURN d.id AS id, d.name AS name, total, {BUILD_ID} AS build_id,
       [p IN page | {{id: p.o.id, name: p.o.name, facts: [r IN p.rs | {_FACT}]}}] AS items
"""


def drug_coverage(drug_id: str, name: str, index: GraphIndex) -> dict[str, Any]:
    """Per-source coverage of one drug, with the wording a reader needs."""
    cov = index.of(drug_id)
    if not cov.in_ddinter:
        ddinter_note = f"{name} is not in DDInter"
    elif cov.ddinter_complete:
        ddinter_note = (f"{name} is in DDInter (ATC group {groups_text(cov.ddinter_groups)}, whose file is present: "
                        "all its DDInter interactions are in the data)")
    else:
        ddinter_note = (f"{name} is in DDInter but not in an ATC group whose file is present "
                        f"({groups_text(DDINTER_GROUPS)}; {groups_text(DDINTER_MISSING_GROUPS)} are missing): only its "
                        "interactions with drugs of those groups are in the data")
    ddi86_note = (f"{name} is in the DrugBank 86-type interaction set" if cov.in_ddi86
                  else f"{name} is not in the DrugBank 86-type interaction set")
    return {"id": drug_id, "name": name, "in_ddinter": cov.in_ddinter, "ddinter_complete": cov.ddinter_complete,
            "ddinter_groups": list(cov.ddinter_groups), "in_drugbank_ddi_86": cov.in_ddi86,
            "sources": [{"source": DDINTER, "covered": cov.in_ddinter, "note": ddinter_note},
                        {"source": DDI86, "covered": cov.in_ddi86, "note": ddi86_note}]}


def _entry_dict(i: int, entry: EntryMatch, status: str | None = None) -> dict:
    return {"index": i, "input": entry.query, "status": status or entry.status, "kind": entry.kind,
            "drugs": [d.to_dict() for d in entry.drugs], "candidates": entry.candidates,
            "suggestions": entry.suggestions, "unresolved_parts": entry.unresolved_parts}


def _sources_info() -> list[dict]:
    schema = get_schema()
    return [{"key": k, "name": schema.sources[k].name, "version": schema.sources[k].version,
             "license": schema.sources[k].license} for k in (DDINTER, DDI86) if k in schema.sources]


class InteractionService:
    """The interaction checks of one app: a driver, the database name and the drug lookup."""

    def __init__(self, driver: Driver, database: str, key: str, lookup: DrugLookup, build_check_seconds: float = 1.0,
                 predictions: PredictionService | None = None) -> None:
        self.driver, self.database, self.key, self.lookup = driver, database, key, lookup
        self.builds = BuildClock(driver, database, build_check_seconds)
        self.predictions = predictions if predictions is not None else shared_predictions()
        self._entries: Lru[tuple[str, str], EntryMatch] = Lru(ENTRY_CACHE)
        # plain tuples of str/bytes: the collector untracks them, so a full cache adds nothing to GC pauses
        self._answers: Lru[tuple, tuple] = Lru(ANSWER_CACHE)

    def index(self, build_id: str | object | None = ...) -> GraphIndex:
        return get_index(self.driver, self.database, self.key, build_id)

    def check(self, drugs: list[str], predict: bool = True) -> dict[str, Any]:
        """The check's answer as a dict (see `check_json`)."""
        return from_json(self.check_json(drugs, predict))

    def check_in_memory(self, drugs: list[str], predict: bool = True) -> dict[str, Any] | None:
        """The check as a dict when it needs no I/O (see `check_in_memory_json`), else None."""
        body = self.check_in_memory_json(drugs, predict)
        return None if body is None else from_json(body)

    def check_json(self, drugs: list[str], predict: bool = True) -> bytes:
        """Resolve every entry, look up all pairs, grade, and word the coverage; the answer as JSON.

        The pairs come from the in-memory store of the newest build when that build is complete and its store
        is loaded (see `BuildClock` for how fresh that view is); otherwise from one Cypher query, and the
        store starts loading in the background."""
        build = self.builds.current()
        store = self.loaded_store(build)
        if store is not None:
            index = cached_index(self.key, self.database)
            if index is None or index.build_id != store.build_id:
                index = self.index(store.build_id)
            return self._check_store(drugs, store, index, predict)
        if build.complete and build.build_id is not None:
            load_in_background(self.driver, self.database, build.build_id)
        return self._check_cypher(drugs, predict)

    def loaded_store(self, build: BuildState) -> PairStore | None:
        """The in-memory store of `build` if it is a complete build whose store is loaded (never queries)."""
        if not build.complete or build.build_id is None:
            return None
        return cached_store(build.build_id, self.database)

    def check_in_memory_json(self, drugs: list[str], predict: bool = True) -> bytes | None:
        """The check when it needs no I/O and no slow warm-up (fresh build state, store, index and fuzzy matcher
        all in memory), else None: safe to run on the event loop."""
        build = self.builds.peek()
        if build is None or not self.lookup.warm:
            return None
        store, index = self.loaded_store(build), cached_index(self.key, self.database)
        if store is None or index is None or index.build_id != store.build_id:
            return None
        if predict and self.predictions is not None and not self.predictions.ready:
            return None  # the model loads on first use: not on the event loop
        return self._check_store(drugs, store, index, predict)

    def _check_store(self, drugs: list[str], store: PairStore, index: GraphIndex, predict: bool = True) -> bytes:
        """The check from the store of a complete build: nothing in it changes, so resolved entries and pair
        answers are cached under its build id."""
        entries = [self._resolve_cached(text, index) for text in drugs]
        ids = sorted({d.id for e in entries for d in e.drugs})
        return self._report(entries, store.found(ids), store.pair_facts, index, predict, cache_key=store.build_id)

    def _resolve_cached(self, text: str, index: GraphIndex) -> EntryMatch:
        key = (index.build_id, text)
        entry = self._entries.get(key)
        if entry is None:
            entry = self.lookup.resolve(text, index)
            self._entries.put(key, entry)
        return entry

    def _check_cypher(self, drugs: list[str], predict: bool = True) -> bytes:
        """The check as one Cypher round trip (re-resolving if the graph was rebuilt meanwhile); nothing cached."""
        index = cached_index(self.key, self.database) or self.index()
        entries = [self.lookup.resolve(text, index) for text in drugs]
        ids = sorted({d.id for e in entries for d in e.drugs})
        row = run_read(self.driver, self.database, CHECK_QUERY, {"ids": ids})[0]
        if row["build_id"] != index.build_id:  # the graph was rebuilt: reload the cache and resolve again
            index = self.index(row["build_id"])
            entries = [self.lookup.resolve(text, index) for text in drugs]
            ids = sorted({d.id for e in entries for d in e.drugs})
            row = run_read(self.driver, self.database, CHECK_QUERY, {"ids": ids})[0]
        by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for fact in row["facts"]:
            by_pair[tuple(sorted((fact["subject"], fact["object"])))].append(fact)
        return self._report(entries, row["found"], lambda a, b: by_pair.get((a, b), []), index, predict)

    def _report(self, entries: list[EntryMatch], found_drugs: list[dict], facts_of: PairFacts, index: GraphIndex,
                predict: bool = True, cache_key: str | None = None) -> bytes:
        """The check's answer. `facts_of(a, b)` gives the facts of a pair (ids sorted); with a `cache_key` (a
        complete build's id) pair answers are cached under it and the model run."""
        found = {d["id"]: d["name"] for d in found_drugs}
        entry_out, warnings = [], []
        owners: dict[str, list[int]] = defaultdict(list)
        for i, entry in enumerate(entries):
            absent = [d.id for d in entry.drugs if d.id not in found]
            status = "not in graph" if entry.drugs and len(absent) == len(entry.drugs) else None
            entry_out.append(_entry_dict(i, entry, status))
            for d in entry.drugs:
                if d.id in found and i not in owners[d.id]:
                    owners[d.id].append(i)
            if entry.status == "unresolved":
                guess = entry.suggestions[0]["name"] if entry.suggestions else None
                hint = f"; did you mean {guess!r}?" if guess else ""
                warnings.append({"kind": "unresolved", "entries": [i],
                                 "message": f"{entry.query!r} did not resolve to a drug{hint}"})
            elif entry.status == "ambiguous":
                names = ", ".join(f"{c['name']} ({c['id']})" for c in entry.candidates)
                warnings.append({"kind": "ambiguous", "entries": [i],
                                 "message": f"{entry.query!r} could mean {names}: name one"})
            elif entry.status == "partial":
                warnings.append({"kind": "unresolved", "entries": [i], "message": f"in {entry.query!r} the "
                                 f"ingredient(s) {', '.join(entry.unresolved_parts)} did not resolve"})
            if absent:
                warnings.append({"kind": "not_in_graph", "entries": [i], "message": f"{', '.join(absent)} "
                                 "resolved but is not in the graph"})
        for drug_id, idx in owners.items():
            if len(idx) > 1:
                inputs = " and ".join(repr(entries[i].query) for i in idx)
                kinds = {entries[i].kind for i in idx}
                verb = "both resolve to" if kinds == {"drug"} and len(idx) == 2 else "share the ingredient"
                warnings.append({"kind": "duplicate_ingredient", "entries": idx, "drug_id": drug_id,
                                 "message": f"{inputs} {verb} {found[drug_id]} ({drug_id})"})
        drug_ids = sorted(owners, key=lambda d: (min(owners[d]), d))
        coverage = [drug_coverage(d, found[d], index) for d in drug_ids]
        for cov in coverage:
            if not cov["in_ddinter"] and not cov["in_drugbank_ddi_86"]:
                warnings.append({"kind": "not_covered", "entries": owners[cov["id"]], "drug_id": cov["id"],
                                 "message": f"{cov['name']} is in no interaction source: its pairs are not covered"})
        run = self.predictions.model_run if predict and self.predictions is not None else None
        answers: list[tuple[str, str, PairAnswer]] = []
        fresh: list[tuple[tuple | None, str, str, dict[str, Any]]] = []
        for a, b in combinations(sorted(drug_ids), 2):
            if set(owners[a]) == set(owners[b]) and len(owners[a]) == 1:
                continue  # two ingredients of one product
            key = (cache_key, run, a, b) if cache_key is not None else None
            cached = self._answers.get(key) if key is not None else None
            if cached is None:
                fresh.append((key, a, b, pair_answer((a, found[a]), (b, found[b]), facts_of(a, b), index)))
            else:
                answers.append((a, b, PairAnswer._make(cached)))
        if run is not None and fresh:
            new = [p for *_, p in fresh]
            self.predictions.annotate([p for p in new if "severity" in p], [p for p in new if "severity" not in p])
        for key, a, b, answer in fresh:
            frozen = PairAnswer.of(answer)
            if key is not None:
                self._answers.put(key, tuple(frozen))
            answers.append((a, b, frozen))
        answers.sort(key=lambda x: (not x[2].interacting, x[2].sort_key()))
        pairs = [p for _, _, p in answers]
        interactions = [p.body(sorted(set(owners[a]) | set(owners[b]))) for a, b, p in answers if p.interacting]
        quiet = [p.json for p in pairs if not p.interacting]
        for warning in warnings:
            warning.setdefault("drug_id", None)
        by_severity = {s: sum(1 for p in pairs if p.severity == s) for s in SEVERITY_ORDER}
        summary = {"entries": len(entries), "resolved_entries": sum(e.status == "resolved" for e in entries),
                   "drugs": len(drug_ids), "pairs": len(pairs), "interacting_pairs": len(interactions),
                   "no_known_interaction_pairs": sum(p.status == NO_KNOWN for p in pairs),
                   "not_covered_pairs": sum(p.status == NOT_COVERED for p in pairs), "by_severity": by_severity}
        predictions = {"enabled": bool(predict and run), "model_run": run, "label": PREDICTED_LABEL,
                       "predicted_pairs": sum(p.predicted for p in pairs)}
        return json_object({"entries": to_json(entry_out), "coverage": to_json(coverage),
                            "interactions": json_array(interactions), "no_interaction": json_array(quiet),
                            "warnings": to_json(warnings), "summary": to_json(summary),
                            "sources": to_json(_sources_info()), "predictions": to_json(predictions)})

    def of_drug(self, ref: str, severities: list[str], limit: int, offset: int) -> dict[str, Any]:
        """The interactions of one drug (id or name), Major first, filtered by severity and paged."""
        if limit < 1 or limit > MAX_PAGE:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE}, got {limit}", "limit")
        if offset < 0:
            raise InvalidInput(f"offset must be >= 0, got {offset}", "offset")
        index = cached_index(self.key, self.database) or self.index()
        entry = self.lookup.resolve(ref, index)
        drug_id = entry.drugs[0].id if entry.status == "resolved" and len(entry.drugs) == 1 else ref
        params = {"id": drug_id, "ddinter": DDINTER, "graded": list(GRADED), "not_graded": NOT_GRADED,
                  "severities": severities, "limit": limit, "offset": offset}
        rows = run_read(self.driver, self.database, DRUG_QUERY, params)
        if not rows:
            raise NotFound(f"no Drug {ref!r} in the graph",
                           entry.candidates or self.lookup.suggest(ref, 5, index))
        row = rows[0]
        if row["build_id"] != index.build_id:
            index = self.index(row["build_id"])
        items = []
        for partner in row["items"]:
            pair_cov = pair_coverage((row["id"], row["name"]), (partner["id"], partner["name"]), index)
            items.append({"partner": {"id": partner["id"], "name": partner["name"]},
                          **graded(partner["facts"], pair_cov)})
        return {"drug": {"id": row["id"], "name": row["name"]},
                "coverage": drug_coverage(row["id"], row["name"], index),
                "severity": severities, "total": row["total"], "limit": limit, "offset": offset, "items": items}
