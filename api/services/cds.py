"""CDS Hooks 2.0 services for `order-select` and `order-sign`: drafted medication orders checked against each
other and the patient's active medications, allergies and conditions; one card per finding, none when there is
nothing to say.

The request is read as plain JSON (malformed JSON, a wrong hook or a Bundle without MedicationRequests is a 400
naming the reason); the elements read are validated with the FHIR R4(B) models (see `kg.fhir`).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from api.services.cds_facts import ClinicalFacts, FactsCache
from api.services.graph_index import DDI86, DDINTER, GraphIndex, cached_index
from api.services.interactions import InteractionService
from kg.errors import MedKGError, NotFound
from kg.fhir import (
    DRUGBANK_SYSTEMS,
    RXNORM_SYSTEMS,
    SNOMED_SYSTEMS,
    FhirInvalid,
    bundle_resources,
    codings,
    concept_label,
    concept_texts,
    status_code,
    validate_elements,
)
from kg.schema import get_schema

SUMMARY_MAX = 139  # CDS Hooks: "<140 characters"
SOURCE_LABEL = "MedKG drug-interaction check"
CARD_TOPICS = "https://medkg.local/cds/card-type"
INDICATOR_ORDER = {"critical": 0, "warning": 1, "info": 2}
# a drafted drug with more ungraded interactions than this gets one grouped card instead of one card per pair
UNGRADED_GROUP_AT = 2
SEVERITY_INDICATOR = {"Major": "critical", "Moderate": "warning", "Minor": "info", "not graded": "info"}
PREFETCH = {
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}&clinical-status=active",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
}
ORDER_ELEMENTS = {"status": "code", "intent": "code", "subject": "Reference",
                  "medicationCodeableConcept": "CodeableConcept", "medicationReference": "Reference"}
STATEMENT_ELEMENTS = {"status": "code", "subject": "Reference", "medicationCodeableConcept": "CodeableConcept",
                      "medicationReference": "Reference"}
ALLERGY_ELEMENTS = {"code": "CodeableConcept", "clinicalStatus": "CodeableConcept",
                    "verificationStatus": "CodeableConcept", "patient": "Reference"}
CONDITION_ELEMENTS = {"code": "CodeableConcept", "clinicalStatus": "CodeableConcept",
                      "verificationStatus": "CodeableConcept", "subject": "Reference"}
INACTIVE = {"inactive", "resolved", "remission", "refuted", "entered-in-error"}
# A shared pharmacologic class suggests cross-sensitivity (Penicillins; NSAIDs' "Decreased Prostaglandin
# Production"), except classes about drug-metabolising enzymes and transporters (the graph's classes carry no
# class type, so those are recognised by name).
NOT_CROSS_SENSITIVITY = re.compile(r"cytochrome p450|p-glycoprotein|transporter|inducers?$|substrates?$", re.I)


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str

    def discovery(self) -> dict[str, Any]:
        return {"hook": self.hook, "id": self.id, "title": self.title, "description": self.description,
                "prefetch": dict(PREFETCH),
                "usageRequirements": "Send an X-API-Key (or Authorization: Bearer <MedKG API key>) with the "
                                     "clinician role; FHIR R4 resources; RxNorm codings resolve best."}


SERVICES = {s.id: s for s in (
    Service("medkg-order-select", "order-select", "MedKG medication check (order-select)",
            "Drug-drug interactions (DDInter severity, DrugBank mechanisms), allergies and PharmacotherapyDB "
            "non-indications for the newly selected medication orders, against the other draft orders and the "
            "patient's active medications, allergies and conditions."),
    Service("medkg-order-sign", "order-sign", "MedKG medication check (order-sign)",
            "Drug-drug interactions (DDInter severity, DrugBank mechanisms), allergies and PharmacotherapyDB "
            "non-indications for the medication orders about to be signed, against the patient's active "
            "medications, allergies and conditions."),
)}


class CdsRequestError(MedKGError, ValueError):
    """A request the service cannot answer (HTTP 400): the reason names the element."""


@dataclass
class Med:
    """One medication of the call: a draft order or an active medication, and the text the check resolves."""

    origin: str  # "draft" | "active"
    ref: str  # e.g. MedicationRequest/103
    label: str
    query: str | None
    focus: bool


@dataclass
class Call:
    hook: str
    patient: str | None
    meds: list[Med] = field(default_factory=list)
    allergies: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    missing_prefetch: list[str] = field(default_factory=list)


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CdsRequestError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except UnicodeDecodeError as exc:
        raise CdsRequestError(f"malformed JSON: not UTF-8 ({exc.reason})") from exc


def _short(text: str, limit: int = SUMMARY_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _source_name(key: str | None) -> str:
    spec = get_schema().sources.get(key or "")
    return spec.name if spec else (key or "unknown source")


def _source_license(key: str | None) -> str | None:
    spec = get_schema().sources.get(key or "")
    return spec.license if spec else None


def _medication_query(resource: dict[str, Any], contained: dict[str, dict]) -> tuple[str, str | None]:
    """(label, text for the drug lookup): an RxNorm code the graph maps (Synthea products), a DrugBank code,
    else the concept's text or displays; a reference to a contained Medication is followed."""
    concept = resource.get("medicationCodeableConcept")
    ref = resource.get("medicationReference")
    if concept is None and isinstance(ref, dict):
        target = contained.get(str(ref.get("reference", "")).lstrip("#"))
        concept = target.get("code") if target else None
        if concept is None:
            return (ref.get("display") or str(ref.get("reference") or "(no medication)")), ref.get("display")
    label = concept_label(concept)
    return label, label if concept_texts(concept) else None


class CdsService:
    """Answers CDS Hooks calls with the app's interaction service and the graph facts cache."""

    def __init__(self, interactions: InteractionService) -> None:
        self.interactions = interactions
        self.facts = FactsCache(interactions.driver, interactions.database)

    def _index(self) -> GraphIndex:
        svc = self.interactions
        return cached_index(svc.key, svc.database) or svc.index()

    @staticmethod
    def discovery() -> dict[str, Any]:
        return {"services": [s.discovery() for s in SERVICES.values()]}

    # ----- request -> Call -----------------------------------------------------------------------
    def parse(self, service_id: str, body: Any) -> Call:
        service = SERVICES.get(service_id)
        if service is None:
            raise NotFound(f"no CDS service {service_id!r}; GET /cds-services lists "
                           f"{', '.join(sorted(SERVICES))}")
        if not isinstance(body, dict):
            raise CdsRequestError(f"the request must be a JSON object, got {type(body).__name__}")
        hook = body.get("hook")
        if hook != service.hook:
            raise CdsRequestError(f"hook: service {service.id!r} answers {service.hook!r}, the request says "
                                  f"{hook!r}")
        if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"].strip():
            raise CdsRequestError("hookInstance: required (a UUID string)")
        context = body.get("context")
        if not isinstance(context, dict):
            raise CdsRequestError("context: required (an object)")
        patient = context.get("patientId")
        call = Call(hook=hook, patient=str(patient) if patient else None)
        selections = context.get("selections")
        if hook == "order-select" and (not isinstance(selections, list) or not selections):
            raise CdsRequestError("context.selections: required for order-select (the ids of the newly "
                                  "selected orders, e.g. 'MedicationRequest/103')")
        self._drafts(call, context.get("draftOrders"), selections if hook == "order-select" else None)
        prefetch = body.get("prefetch")
        prefetch = prefetch if isinstance(prefetch, dict) else {}
        drafted_ids = {m.ref for m in call.meds}
        for key in PREFETCH:
            if prefetch.get(key) is None:
                call.missing_prefetch.append(key)
        self._active_meds(call, prefetch.get("medications"), drafted_ids)
        call.allergies = self._prefetched(prefetch.get("allergies"), "prefetch.allergies", "AllergyIntolerance",
                                          ALLERGY_ELEMENTS)
        call.conditions = self._prefetched(prefetch.get("conditions"), "prefetch.conditions", "Condition",
                                           CONDITION_ELEMENTS)
        return call

    def _drafts(self, call: Call, bundle: Any, selections: list | None) -> None:
        path = "context.draftOrders"
        if bundle is None:
            raise CdsRequestError(f"{path}: required (a Bundle of the draft orders)")
        try:
            entries = list(bundle_resources(bundle, path))
        except FhirInvalid as exc:
            raise CdsRequestError(str(exc)) from exc
        kinds = [r.get("resourceType") for _, r, _ in entries]
        orders = [(i, r) for i, r, _ in entries if r.get("resourceType") == "MedicationRequest"]
        if not orders:
            found = ", ".join(sorted({str(k) for k in kinds})) or "no entries"
            raise CdsRequestError(f"{path}: the Bundle holds no MedicationRequest (found: {found}); this service "
                                  "checks medication orders")
        wanted = {str(s) for s in selections} if selections is not None else None
        for i, resource in orders:
            rpath = f"{path}.entry[{i}].resource"
            try:
                validate_elements(resource, rpath, ORDER_ELEMENTS)
            except FhirInvalid as exc:
                raise CdsRequestError(str(exc)) from exc
            if "medicationCodeableConcept" not in resource and "medicationReference" not in resource:
                raise CdsRequestError(f"{rpath}.medication[x]: required (medicationCodeableConcept or "
                                      "medicationReference)")
            ref = f"MedicationRequest/{resource.get('id', i)}"
            label, query = self._resolve_query(resource)
            focus = wanted is None or ref in wanted
            call.meds.append(Med("draft", ref, label, query, focus))

    def _active_meds(self, call: Call, bundle: Any, drafted: set[str]) -> None:
        for i, resource in self._resources(bundle, "prefetch.medications",
                                           ("MedicationRequest", "MedicationStatement")):
            elements = ORDER_ELEMENTS if resource["resourceType"] == "MedicationRequest" else STATEMENT_ELEMENTS
            rpath = f"prefetch.medications.entry[{i}].resource"
            try:
                validate_elements(resource, rpath, elements)
            except FhirInvalid as exc:
                raise CdsRequestError(str(exc)) from exc
            ref = f"{resource['resourceType']}/{resource.get('id', i)}"
            if ref in drafted or resource.get("status") in {"draft", "cancelled", "entered-in-error", "stopped",
                                                             "completed"}:
                continue  # the order being drafted, or not a current medication
            label, query = self._resolve_query(resource)
            call.meds.append(Med("active", ref, label, query, focus=False))

    def _prefetched(self, bundle: Any, path: str, kind: str, elements: dict[str, str]) -> list[dict[str, Any]]:
        out = []
        for i, resource in self._resources(bundle, path, (kind,)):
            try:
                validate_elements(resource, f"{path}.entry[{i}].resource", elements)
            except FhirInvalid as exc:
                raise CdsRequestError(str(exc)) from exc
            if status_code(resource, "clinicalStatus") in INACTIVE or \
                    status_code(resource, "verificationStatus") in INACTIVE:
                continue
            out.append(resource)
        return out

    @staticmethod
    def _resources(bundle: Any, path: str, kinds: tuple[str, ...]) -> list[tuple[int, dict[str, Any]]]:
        if bundle is None:
            return []
        try:
            return [(i, r) for i, r, _ in bundle_resources(bundle, path) if r.get("resourceType") in kinds]
        except FhirInvalid as exc:
            raise CdsRequestError(str(exc)) from exc

    def _resolve_query(self, resource: dict[str, Any]) -> tuple[str, str | None]:
        """The lookup text of a medication: a mapped RxNorm code first, a DrugBank id, then the names."""
        contained = {str(c.get("id")): c for c in resource.get("contained") or [] if isinstance(c, dict)}
        concept = resource.get("medicationCodeableConcept")
        if concept is None and isinstance(resource.get("medicationReference"), dict):
            target = contained.get(str(resource["medicationReference"].get("reference", "")).lstrip("#"))
            concept = target.get("code") if target else None
        index = self._index()
        for c in codings(concept):
            if c.code and c.system in RXNORM_SYSTEMS and index is not None and c.code in index.medications \
                    and index.medications[c.code][1]:
                return concept_label(concept), f"rxnorm:{c.code}"
            if c.code and c.system in DRUGBANK_SYSTEMS:
                return concept_label(concept), c.code
        return _medication_query(resource, contained)

    # ----- Call -> cards -------------------------------------------------------------------------
    def cards(self, call: Call) -> list[dict[str, Any]]:
        """The call's cards; may read Neo4j (the check, the facts of a new build): run it off the event loop."""
        queries = self._queries(call)
        result = (self.interactions.check_in_memory(queries) or self.interactions.check(queries)) if queries else None
        facts = self.facts.get(self.interactions.builds.current().build_id) if result is not None else None
        return self._cards(call, result, facts)

    def cards_in_memory(self, call: Call) -> list[dict[str, Any]] | None:
        """The call's cards when all they need is in memory (build view, facts, coverage index, the check's store),
        else None: safe to run on the event loop, where it avoids the threadpool's GIL contention under load."""
        build = self.interactions.builds.peek()
        facts = self.facts.peek(build.build_id) if build is not None else None
        svc = self.interactions
        if facts is None or cached_index(svc.key, svc.database) is None:
            return None
        queries = self._queries(call)
        result = svc.check_in_memory(queries) if queries else None
        if queries and result is None:
            return None
        return self._cards(call, result, facts)

    @staticmethod
    def _queries(call: Call) -> list[str]:
        """The lookup texts of the medications that have one, in order (the check's entries follow them)."""
        return [m.query for m in call.meds if m.query]

    def _cards(self, call: Call, result: dict[str, Any] | None, facts: ClinicalFacts | None) -> list[dict[str, Any]]:
        checkable = [m for m in call.meds if m.query]
        cards: list[dict[str, Any]] = []
        note = self._prefetch_note(call)
        owners: dict[str, list[Med]] = {}
        unresolved: list[str] = [f"{m.label} ({'drafted' if m.origin == 'draft' else 'current medication'}: "
                                 "no code or text to resolve)" for m in call.meds if not m.query]
        if result is not None:
            for med, entry in zip(checkable, result["entries"], strict=True):
                if entry["status"] in ("resolved", "partial"):
                    for d in entry["drugs"]:
                        owners.setdefault(d["id"], [])
                        if med not in owners[d["id"]]:
                            owners[d["id"]].append(med)
                if entry["status"] != "resolved":
                    unresolved.append(self._unresolved_text(med, entry))
            focus = {d for d, meds in owners.items() if any(m.focus for m in meds)}
            ungraded: dict[str, list[dict[str, Any]]] = {}
            for pair in result["interactions"]:
                a, b = pair["drug_a"]["id"], pair["drug_b"]["id"]
                if (a in focus or b in focus) and not self._same_product(owners, a, b):
                    if pair["severity"] == "not graded":
                        ungraded.setdefault(a if a in focus else b, []).append(pair)
                    else:
                        cards.append(self._interaction_card(pair, owners, note))
            for drug_id, pairs in ungraded.items():
                if len(pairs) > UNGRADED_GROUP_AT:
                    cards.append(self._ungraded_group_card(drug_id, pairs, owners, note))
                else:
                    cards.extend(self._interaction_card(pair, owners, note) for pair in pairs)
            cards.extend(self._prediction_cards(result, owners, focus, note))
            cards.extend(self._allergy_cards(call, owners, focus, facts, unresolved, note))
            cards.extend(self._non_indication_cards(call, owners, focus, facts, note))
        if unresolved:
            cards.append(self._unresolved_card(unresolved, note))
        cards.sort(key=lambda c: INDICATOR_ORDER[c["indicator"]])
        return cards

    @staticmethod
    def _same_product(owners: dict[str, list[Med]], a: str, b: str) -> bool:
        return owners.get(a) == owners.get(b) and len(owners.get(a, [])) == 1

    @staticmethod
    def _prefetch_note(call: Call) -> str | None:
        if not call.missing_prefetch:
            return None
        if len(call.missing_prefetch) == len(PREFETCH):
            return ("No prefetch was sent: this answer checks the draft orders alone, not the patient's active "
                    "medications, allergies or conditions.")
        return (f"Prefetch {', '.join(call.missing_prefetch)} missing: not checked against the patient's "
                f"{' or '.join(call.missing_prefetch)}.")

    @staticmethod
    def _who(meds: list[Med]) -> str:
        return "; ".join(f"{'drafted' if m.origin == 'draft' else 'current'}: {m.label}" for m in meds)

    def _interaction_card(self, pair: dict[str, Any], owners: dict[str, list[Med]], note: str | None) -> dict:
        a, b = pair["drug_a"], pair["drug_b"]
        severity = pair["severity"]
        label = f"{severity} interaction" if severity != "not graded" else "Interaction (severity not graded)"
        lines = [f"**{a['name']}** ({self._who(owners.get(a['id'], []))}) and **{b['name']}** "
                 f"({self._who(owners.get(b['id'], []))}).", "",
                 f"- Severity: **{severity}**: {pair['severity_note']}."]
        for m in pair["mechanisms"]:
            lines.append(f"- Mechanism: {m['sentence']} ({_source_name(m['source'])}, {m['license']})")
        seen = []
        for f in pair["facts"]:
            if f["source"] not in seen:
                seen.append(f["source"])
                version = f" {f['source_version']}" if f.get("source_version") else ""
                lines.append(f"- Source: {f['source_name']}{version}, license {f['license']}")
        for cov in pair["coverage"]:
            if not cov["covered"]:
                lines.append(f"- Coverage: {cov['note']}")
        if note:
            lines += ["", f"_{note}_"]
        return self._card(f"{label}: {a['name']} + {b['name']}", "\n".join(lines),
                          SEVERITY_INDICATOR.get(severity, "info"), "drug-interaction", "Drug-drug interaction")

    def _ungraded_group_card(self, drug_id: str, pairs: list[dict[str, Any]], owners: dict[str, list[Med]],
                             note: str | None) -> dict:
        """One `info` card for a drafted drug's many ungraded interactions (mechanism known, no severity):
        one card per pair would bury the graded ones (alert fatigue)."""
        first = pairs[0]
        drug = first["drug_a"] if first["drug_a"]["id"] == drug_id else first["drug_b"]
        lines = [f"**{drug['name']}** ({self._who(owners.get(drug_id, []))}) has {len(pairs)} interactions with a "
                 "known mechanism and no severity grade:", ""]
        for pair in pairs:
            other = pair["drug_b"] if pair["drug_a"]["id"] == drug_id else pair["drug_a"]
            mech = "; ".join(f"{m['sentence']} ({_source_name(m['source'])}, {m['license']})"
                             for m in pair["mechanisms"]) or pair["severity_note"]
            lines.append(f"- **{other['name']}** ({self._who(owners.get(other['id'], []))}): {mech}")
        silent = sorted({c["note"] for pair in pairs for c in pair["coverage"] if not c["covered"]})
        lines += ["", *(f"- Coverage: {n}" for n in silent)]
        if note:
            lines += ["", f"_{note}_"]
        return self._card(f"{len(pairs)} interactions of {drug['name']} not graded (mechanism known)",
                          "\n".join(lines), "info", "drug-interaction", "Drug-drug interaction")

    def _prediction_cards(self, result: dict[str, Any], owners: dict[str, list[Med]], focus: set[str],
                          note: str | None) -> list[dict]:
        """`info` cards for model-predicted interactions (the check's optional `predicted` field, per pair or as
        a list); never for a pair that already has a sourced fact."""
        sourced = {frozenset((p["drug_a"]["id"], p["drug_b"]["id"])) for p in result["interactions"]}
        candidates: list[dict] = []
        top = result.get("predicted")
        if isinstance(top, list):
            candidates.extend(p for p in top if isinstance(p, dict))
        for pair in [*result.get("no_interaction", []), *result.get("interactions", [])]:
            pred = pair.get("predicted") if isinstance(pair, dict) else None
            if isinstance(pred, dict) and pred:
                candidates.append({"drug_a": pair.get("drug_a"), "drug_b": pair.get("drug_b"), **pred})
        cards, done = [], set()
        for p in candidates:
            a, b = p.get("drug_a") or {}, p.get("drug_b") or {}
            ids = frozenset((a.get("id"), b.get("id")))
            if None in ids or ids in sourced or ids in done or not ids & focus:
                continue
            if p.get("predicted") is False:
                continue
            done.add(ids)
            prob = p.get("probability", p.get("score"))
            prob_text = f"{prob:.2f}" if isinstance(prob, int | float) else "n/a"
            run = p.get("model_run") or p.get("run") or "unknown run"
            lines = [f"**Model prediction, not a sourced fact.** A model predicts an interaction between "
                     f"**{a.get('name', a.get('id'))}** ({self._who(owners.get(a.get('id'), []))}) and "
                     f"**{b.get('name', b.get('id'))}** ({self._who(owners.get(b.get('id'), []))}).", "",
                     f"- Probability: {prob_text}", f"- Model run: {run}"]
            if p.get("model"):
                lines.append(f"- Model: {p['model']}")
            lines.append("- No interaction source lists this pair.")
            if note:
                lines += ["", f"_{note}_"]
            cards.append(self._card(f"Predicted interaction (model, p={prob_text}): {a.get('name')} + "
                                    f"{b.get('name')}", "\n".join(lines), "info", "predicted-interaction",
                                    "Model-predicted drug-drug interaction"))
        return cards

    def _allergy_cards(self, call: Call, owners: dict[str, list[Med]], focus: set[str], facts, unresolved: list[str],
                       note: str | None) -> list[dict]:
        cards = []
        index = self._index()
        lookup = self.interactions.lookup
        for allergy in call.allergies:
            concept = allergy.get("code")
            label = concept_label(concept)
            is_medication = "medication" in (allergy.get("category") or []) or any(
                c.system in RXNORM_SYSTEMS for c in codings(concept))
            texts = concept_texts(concept)
            ids: list[str] = []
            for text in texts:
                entry = lookup.resolve(text, index)
                if entry.status == "resolved":
                    ids = [d.id for d in entry.drugs]
                    break
            if not ids:
                if is_medication:
                    unresolved.append(f"allergy to {label} (did not resolve to a drug: not checked)")
                continue
            kind = "intolerance" if allergy.get("type") == "intolerance" else "allergy"
            for drug_id in sorted(set(ids) & focus):
                meds = owners[drug_id]
                name = lookup.name(drug_id, index)
                lines = [f"The patient has a recorded {kind} to **{label}**; the order ({self._who(meds)}) contains "
                         f"**{name}** ({drug_id}).",
                         "", "- Source: the patient's AllergyIntolerance (prefetch), matched by MedKG's drug lookup"]
                cards.append(self._card(f"{kind.capitalize()}: {name} ordered, patient {kind} to {label}",
                                        "\n".join(lines + (["", f"_{note}_"] if note else [])),
                                        "critical" if kind == "allergy" else "warning", "allergy", "Allergy conflict"))
            for drug_id in sorted(focus - set(ids)):
                allergen_classes = {x["id"] for i in ids for x in facts.classes.get(i, [])}
                shared = [c for c in facts.classes.get(drug_id, [])
                          if c["id"] in allergen_classes and not NOT_CROSS_SENSITIVITY.search(c["name"] or "")]
                if not shared:
                    continue
                name = lookup.name(drug_id, index)
                classes = ", ".join(f"{c['name']} ({c['id']})" for c in shared)
                lines = [f"The patient has a recorded {kind} to **{label}**; the order ({self._who(owners[drug_id])}) "
                         f"contains **{name}**, of the same pharmacologic class: {classes}. Cross-sensitivity is "
                         "possible.", "", f"- Source: pharmacologic classes from {_source_name('hetionet')} "
                         f"(license {_source_license('hetionet')})"]
                cards.append(self._card(f"Possible cross-sensitivity: {name}, patient {kind} to {label}",
                                        "\n".join(lines + (["", f"_{note}_"] if note else [])), "warning",
                                        "allergy", "Allergy conflict"))
        return cards

    def _non_indication_cards(self, call: Call, owners: dict[str, list[Med]], focus: set[str], facts,
                              note: str | None) -> list[dict]:
        if not call.conditions:
            return []
        patient: dict[str, str] = {}  # disease id -> the patient's condition label
        for cond in call.conditions:
            concept = cond.get("code")
            snomed = [c.code for c in codings(concept) if c.system in SNOMED_SYSTEMS and c.code]
            for disease in facts.diseases_of(snomed, concept_texts(concept)):
                patient.setdefault(disease, concept_label(concept))
        cards = []
        index = self._index()
        for drug_id in sorted(focus):
            for hit in facts.not_indicated.get(drug_id, []):
                if hit["disease"] not in patient:
                    continue
                name = self.interactions.lookup.name(drug_id, index)
                lines = [f"**{name}** ({self._who(owners[drug_id])}) is listed as **not indicated** for "
                         f"**{hit['name']}** ({hit['disease']}), which the patient has "
                         f"(condition: {patient[hit['disease']]}).", "",
                         "- PharmacotherapyDB's non-indications are drug-disease pairs that physicians judged "
                         "not to be an indication (this includes contraindications and drugs that can cause or "
                         "worsen the disease).",
                         f"- Source: {_source_name(hit['source'])}, license {hit['license']}"]
                cards.append(self._card(f"Not indicated: {name} with {hit['name']}",
                                        "\n".join(lines + (["", f"_{note}_"] if note else [])), "warning",
                                        "contraindication", "Drug-disease non-indication"))
        return cards

    @staticmethod
    def _unresolved_text(med: Med, entry: dict[str, Any]) -> str:
        where = "drafted" if med.origin == "draft" else "current medication"
        if entry["status"] == "ambiguous":
            names = ", ".join(c["name"] for c in entry["candidates"][:3])
            return f"{med.label} ({where}): could mean {names}"
        if entry["status"] == "partial":
            return f"{med.label} ({where}): ingredient(s) {', '.join(entry['unresolved_parts'])} did not resolve"
        if entry["status"] == "not in graph":
            return f"{med.label} ({where}): resolved but not in the graph"
        guess = f"; did you mean {entry['suggestions'][0]['name']}?" if entry["suggestions"] else ""
        return f"{med.label} ({where}): did not resolve to a drug{guess}"

    def _unresolved_card(self, items: list[str], note: str | None) -> dict:
        first = items[0].split(" (")[0]
        summary = (f"Not checked: {first} could not be matched to a drug" if len(items) == 1
                   else f"Not checked: {len(items)} medications or allergies could not be matched to a drug")
        lines = ["These were **not checked** for interactions, allergies or non-indications:", "",
                 *[f"- {item}" for item in items], "",
                 "Send an RxNorm coding or the ingredient name to have them checked."]
        if note:
            lines += ["", f"_{note}_"]
        return self._card(summary, "\n".join(lines), "info", "unresolved-medication", "Medication not checked")

    @staticmethod
    def _card(summary: str, detail: str, indicator: str, topic: str, topic_display: str) -> dict[str, Any]:
        return {"uuid": str(uuid.uuid4()), "summary": _short(summary), "detail": detail, "indicator": indicator,
                "source": {"label": SOURCE_LABEL,
                           "topic": {"system": CARD_TOPICS, "code": topic, "display": topic_display}}}


def sources_note() -> str:
    """The interaction sources and licenses (for the docs and discovery descriptions)."""
    return "; ".join(f"{_source_name(k)} ({_source_license(k)})" for k in (DDINTER, DDI86))
