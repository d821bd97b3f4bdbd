"""One drug pair's answer in the interaction check: its facts graded on the severity scale, or the wording of
"no known interaction" / "not covered" from per-source coverage; and the answer kept serialised for reuse.

Answers of a complete build never change, so the check caches them as JSON bytes in plain tuples (`PairAnswer`
fields): the garbage collector does not track those, so a cache of 100k answers adds nothing to its full
collections (as nested dicts it made pauses of ~170 ms), and a hit costs no serialisation.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic_core import to_json

from api.services.graph_index import DDI86, DDINTER, DDINTER_GROUPS, DDINTER_MISSING_GROUPS, GraphIndex
from api.services.pair_store import FIELDS
from kg.schema import get_schema

SEVERITY_ORDER = {"Major": 0, "Moderate": 1, "Minor": 2, "not graded": 3}
GRADED = ("Major", "Moderate", "Minor")
NOT_GRADED = "not graded"
NOT_COVERED = "not covered"
NO_KNOWN = "no known interaction"


def groups_text(groups: tuple[str, ...]) -> str:
    return ", ".join(groups)


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
        ddinter = (True, f"DDInter covers this pair ({whole}'s ATC group {groups_text(groups)} file lists all its "
                         "interactions)")
    else:
        ddinter = (False, f"DDInter does not cover this pair: neither drug is in an ATC group whose DDInter file "
                          f"is present ({groups_text(DDINTER_GROUPS)}; the {groups_text(DDINTER_MISSING_GROUPS)} files "
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
    """The fact's fields in one order whichever path read it (store or Cypher map), and its source's name."""
    return {**{k: f[k] for k in FIELDS}, "source_name": _source_name(f["source"])}


def _mechanisms(facts: list[dict]) -> list[dict]:
    return [{"sentence": f["mechanism"], "ddi_type": f["ddi_type"], "subject": f["subject"], "source": f["source"],
             "license": f["license"]} for f in facts if f.get("mechanism")]


def _sort_facts(facts: list[dict]) -> list[dict]:
    return sorted(facts, key=lambda f: (f["source"] != DDINTER, f["source"], f.get("ddi_type") or 0, f["subject"]))


def graded(facts: list[dict], coverage: list[dict]) -> dict[str, Any]:
    """An interacting pair's severity with its source and note, mechanisms and facts (sources first)."""
    facts = _sort_facts(facts)
    severity, source, note = grade(facts, coverage)
    return {"severity": severity, "severity_source": source, "severity_note": note, "mechanisms": _mechanisms(facts),
            "facts": [_fact_out(f) for f in facts]}


def pair_answer(a: tuple[str, str], b: tuple[str, str], facts: list[dict], index: GraphIndex) -> dict[str, Any]:
    """The answer for one pair (ids sorted), `predicted` still None: graded facts with their coverage, or
    `no known interaction` / `not covered` with the wording. An interacting pair's `entries` are the caller's."""
    (a_id, a_name), (b_id, b_name) = a, b
    ref_a, ref_b = {"id": a_id, "name": a_name}, {"id": b_id, "name": b_name}
    pair_cov = pair_coverage(a, b, index)
    if facts:
        return {"drug_a": ref_a, "drug_b": ref_b, **graded(facts, pair_cov), "coverage": pair_cov, "predicted": None}
    covered_by = [c["source"] for c in pair_cov if c["covered"]]
    if covered_by:
        names = " and ".join(_source_name(s) for s in covered_by)
        return {"drug_a": ref_a, "drug_b": ref_b, "status": NO_KNOWN, "covered_by": covered_by,
                "coverage": pair_cov, "predicted": None,
                "note": f"no known interaction: {names} " + ("covers this pair and lists none" if len(covered_by) == 1
                                                             else "cover this pair and list none")}
    return {"drug_a": ref_a, "drug_b": ref_b, "status": NOT_COVERED, "covered_by": [], "coverage": pair_cov,
            "predicted": None, "note": "not covered by any interaction source: nothing is known either way, which "
                                       "is not evidence that the two do not interact"}


class PairAnswer(NamedTuple):
    """A pair's answer serialised (`entries` left out: they belong to one request), with what the check sorts
    and counts pairs by."""

    interacting: bool
    rank: int  # severity order of an interacting pair; 0 not covered, 1 no known interaction otherwise
    name_a: str  # lower-cased, for sorting
    name_b: str
    severity: str | None
    status: str | None
    predicted: bool
    json: bytes

    @classmethod
    def of(cls, answer: dict[str, Any]) -> PairAnswer:
        interacting = "severity" in answer
        severity, status = answer.get("severity"), answer.get("status")
        rank = SEVERITY_ORDER[severity] if interacting else int(status != NOT_COVERED)
        return cls(interacting, rank, answer["drug_a"]["name"].lower(), answer["drug_b"]["name"].lower(), severity,
                   status, answer.get("predicted") is not None, to_json(answer))

    def sort_key(self) -> tuple[int, str, str]:
        return self.rank, self.name_a, self.name_b

    def body(self, entries: list[int]) -> bytes:
        """The pair as it appears in a check: an interacting pair also names the list entries it comes from."""
        if not self.interacting:
            return self.json
        return self.json[:-1] + b',"entries":' + to_json(entries) + b"}"


def json_object(fields: dict[str, bytes]) -> bytes:
    """A JSON object from values already serialised."""
    return b"{" + b",".join(to_json(k) + b":" + v for k, v in fields.items()) + b"}"


def json_array(items: list[bytes]) -> bytes:
    return b"[" + b",".join(items) + b"]"
