"""Drug-drug interaction checks: all pairs from the in-memory store of the complete build (or one Cypher
round trip while it loads or a build is in progress), severity scale, coverage wording."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

from neo4j import Driver

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
from api.services.pair_store import PairStore, cached_store, load_in_background
from kg.errors import InvalidInput, NotFound
from kg.schema import get_schema

SEVERITY_ORDER = {"Major": 0, "Moderate": 1, "Minor": 2, "not graded": 3}
GRADED = ("Major", "Moderate", "Minor")
NOT_GRADED = "not graded"
MAX_PAGE = 200
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


def _groups(groups: tuple[str, ...]) -> str:
    return ", ".join(groups)


def drug_coverage(drug_id: str, name: str, index: GraphIndex) -> dict[str, Any]:
    """Per-source coverage of one drug, with the wording a reader needs."""
    cov = index.of(drug_id)
    if not cov.in_ddinter:
        ddinter_note = f"{name} is not in DDInter"
    elif cov.ddinter_complete:
        ddinter_note = (f"{name} is in DDInter (ATC group {_groups(cov.ddinter_groups)}, whose file is present: "
                        "all its DDInter interactions are in the data)")
    else:
        ddinter_note = (f"{name} is in DDInter but not in an ATC group whose file is present "
                        f"({_groups(DDINTER_GROUPS)}; {_groups(DDINTER_MISSING_GROUPS)} are missing): only its "
                        "interactions with drugs of those groups are in the data")
    ddi86_note = (f"{name} is in the DrugBank 86-type interaction set" if cov.in_ddi86
                  else f"{name} is not in the DrugBank 86-type interaction set")
    return {"id": drug_id, "name": name, "in_ddinter": cov.in_ddinter, "ddinter_complete": cov.ddinter_complete,
            "ddinter_groups": list(cov.ddinter_groups), "in_drugbank_ddi_86": cov.in_ddi86,
            "sources": [{"source": DDINTER, "covered": cov.in_ddinter, "note": ddinter_note},
                        {"source": DDI86, "covered": cov.in_ddi86, "note": ddi86_note}]}


def pair_coverage(a: tuple[str, str], b: tuple[str, str], index: GraphIndex) -> list[dict[str, Any]]:
    """Does each source cover the pair (would it list an interaction between a and b if it knew one)?"""
    (a_id, a_name), (b_id, b_name) = a, b
    ca, cb = index.of(a_id), index.of(b_id)
    missing = [n for n, c in ((a_name, ca), (b_name, cb)) if not c.in_ddinter]
    if missing:
        ddinter = (False, f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in DDInter")
    elif ca.ddinter_complete or cb.ddinter_complete:
        whole = a_name if ca.ddinter_complete else b_name
        groups = ca.ddinter_groups if ca.ddinter_complete else cb.ddinter_groups
        ddinter = (True, f"DDInter covers this pair ({whole}'s ATC group {_groups(groups)} file lists all its "
                         "interactions)")
    else:
        ddinter = (False, f"DDInter does not cover this pair: neither drug is in an ATC group whose DDInter file "
                          f"is present ({_groups(DDINTER_GROUPS)}; the {_groups(DDINTER_MISSING_GROUPS)} files "
                          "are missing)")
    missing86 = [n for n, c in ((a_name, ca), (b_name, cb)) if not c.in_ddi86]
    if missing86:
        ddi86 = (False, f"{' and '.join(missing86)} {'is' if len(missing86) == 1 else 'are'} not in the DrugBank "
                        "86-type set")
    else:
        ddi86 = (True, "both drugs are in the DrugBank 86-type set")
    return [{"source": DDINTER, "covered": ddinter[0], "note": ddinter[1]},
            {"source": DDI86, "covered": ddi86[0], "note": ddi86[1]}]


def _source_name(key: str) -> str:
    spec = get_schema().sources.get(key)
    return spec.name if spec else key


def grade(facts: list[dict], coverage: list[dict]) -> tuple[str, str | None, str]:
    """Severity on the named scale, its source and a note, from the facts of one pair."""
    ddinter = [f for f in facts if f["source"] == DDINTER]
    if ddinter:
        level = ddinter[0]["severity"]
        if level in GRADED:
            return level, DDINTER, f"DDInter grades this interaction {level}"
        return NOT_GRADED, DDINTER, f"DDInter lists this interaction with level {level!r}, i.e. not graded"
    ddinter_cov = next(c for c in coverage if c["source"] == DDINTER)
    if ddinter_cov["covered"]:
        return NOT_GRADED, None, ("no DDInter grade: DDInter covers this pair but lists no interaction; the "
                                  "DrugBank mechanism is the only evidence")
    return NOT_GRADED, None, f"no DDInter grade: {ddinter_cov['note']}"


def _fact_out(f: dict) -> dict:
    return {**f, "source_name": _source_name(f["source"])}


def _mechanisms(facts: list[dict]) -> list[dict]:
    return [{"sentence": f["mechanism"], "ddi_type": f["ddi_type"], "subject": f["subject"], "source": f["source"],
             "license": f["license"]} for f in facts if f.get("mechanism")]


def _sort_facts(facts: list[dict]) -> list[dict]:
    return sorted(facts, key=lambda f: (f["source"] != DDINTER, f["source"], f.get("ddi_type") or 0, f["subject"]))


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

    def index(self, build_id: str | object | None = ...) -> GraphIndex:
        return get_index(self.driver, self.database, self.key, build_id)

    def check(self, drugs: list[str], predict: bool = True) -> dict[str, Any]:
        """Resolve every entry, look up all pairs, grade, and word the coverage.

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

    def check_in_memory(self, drugs: list[str], predict: bool = True) -> dict[str, Any] | None:
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

    def _check_store(self, drugs: list[str], store: PairStore, index: GraphIndex, predict: bool = True
                     ) -> dict[str, Any]:
        entries = [self.lookup.resolve(text, index) for text in drugs]
        ids = sorted({d.id for e in entries for d in e.drugs})
        row = {"found": store.found(ids), "facts": store.facts_among(ids), "build_id": store.build_id}
        return self._report(entries, row, index, predict)

    def _check_cypher(self, drugs: list[str], predict: bool = True) -> dict[str, Any]:
        """The check as one Cypher round trip (re-resolving if the graph was rebuilt meanwhile)."""
        index = cached_index(self.key, self.database) or self.index()
        entries = [self.lookup.resolve(text, index) for text in drugs]
        ids = sorted({d.id for e in entries for d in e.drugs})
        row = run_read(self.driver, self.database, CHECK_QUERY, {"ids": ids})[0]
        if row["build_id"] != index.build_id:  # the graph was rebuilt: reload the cache and resolve again
            index = self.index(row["build_id"])
            entries = [self.lookup.resolve(text, index) for text in drugs]
            ids = sorted({d.id for e in entries for d in e.drugs})
            row = run_read(self.driver, self.database, CHECK_QUERY, {"ids": ids})[0]
        return self._report(entries, row, index, predict)

    def _report(self, entries: list[EntryMatch], row: dict, index: GraphIndex, predict: bool = True
                ) -> dict[str, Any]:
        found = {d["id"]: d["name"] for d in row["found"]}
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
        by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for fact in row["facts"]:
            by_pair[tuple(sorted((fact["subject"], fact["object"])))].append(fact)
        interactions, quiet = [], []
        for a, b in combinations(sorted(drug_ids), 2):
            if set(owners[a]) == set(owners[b]) and len(owners[a]) == 1:
                continue  # two ingredients of one product
            ref_a, ref_b = {"id": a, "name": found[a]}, {"id": b, "name": found[b]}
            pair_cov = pair_coverage((a, found[a]), (b, found[b]), index)
            facts = _sort_facts(by_pair.get((a, b), []))
            if facts:
                severity, source, note = grade(facts, pair_cov)
                interactions.append({"drug_a": ref_a, "drug_b": ref_b, "severity": severity, "severity_source": source,
                                     "severity_note": note, "mechanisms": _mechanisms(facts),
                                     "facts": [_fact_out(f) for f in facts], "coverage": pair_cov,
                                     "entries": sorted(set(owners[a]) | set(owners[b]))})
                continue
            covered_by = [c["source"] for c in pair_cov if c["covered"]]
            if covered_by:
                names = " and ".join(_source_name(s) for s in covered_by)
                quiet.append({"drug_a": ref_a, "drug_b": ref_b, "status": "no known interaction",
                              "covered_by": covered_by, "coverage": pair_cov,
                              "note": f"no known interaction: {names} "
                                      + ("covers this pair and lists none" if len(covered_by) == 1
                                         else "cover this pair and list none")})
            else:
                quiet.append({"drug_a": ref_a, "drug_b": ref_b, "status": "not covered", "covered_by": [],
                              "coverage": pair_cov,
                              "note": "not covered by any interaction source: nothing is known either way, which "
                                      "is not evidence that the two do not interact"})
        interactions.sort(key=lambda p: (SEVERITY_ORDER[p["severity"]], p["drug_a"]["name"].lower(),
                                         p["drug_b"]["name"].lower()))
        quiet.sort(key=lambda p: (p["status"] != "not covered", p["drug_a"]["name"].lower(),
                                  p["drug_b"]["name"].lower()))
        for p in interactions + quiet:
            p["predicted"] = None
        run = None
        if predict and self.predictions is not None:
            self.predictions.annotate(interactions, quiet)
            run = self.predictions.model_run
        for warning in warnings:
            warning.setdefault("drug_id", None)
        by_severity = {s: sum(1 for p in interactions if p["severity"] == s) for s in SEVERITY_ORDER}
        summary = {"entries": len(entries), "resolved_entries": sum(e.status == "resolved" for e in entries),
                   "drugs": len(drug_ids), "pairs": len(interactions) + len(quiet),
                   "interacting_pairs": len(interactions),
                   "no_known_interaction_pairs": sum(p["status"] == "no known interaction" for p in quiet),
                   "not_covered_pairs": sum(p["status"] == "not covered" for p in quiet), "by_severity": by_severity}
        return {"entries": entry_out, "coverage": coverage, "interactions": interactions, "no_interaction": quiet,
                "warnings": warnings, "summary": summary, "sources": _sources_info(),
                "predictions": {"enabled": bool(predict and run), "model_run": run, "label": PREDICTED_LABEL,
                                "predicted_pairs": sum(p["predicted"] is not None for p in interactions + quiet)}}

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
            facts = _sort_facts(partner["facts"])
            pair_cov = pair_coverage((row["id"], row["name"]), (partner["id"], partner["name"]), index)
            severity, source, note = grade(facts, pair_cov)
            items.append({"partner": {"id": partner["id"], "name": partner["name"]}, "severity": severity,
                          "severity_source": source, "severity_note": note, "mechanisms": _mechanisms(facts),
                          "facts": [_fact_out(f) for f in facts]})
        return {"drug": {"id": row["id"], "name": row["name"]},
                "coverage": drug_coverage(row["id"], row["name"], index),
                "severity": severities, "total": row["total"], "limit": limit, "offset": offset, "items": items}
