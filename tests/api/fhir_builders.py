"""FHIR R4 resources and CDS Hooks requests built for the tests (from Synthea CSV rows or by hand)."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"

# The R4 request example of the CDS Hooks specification's order-select hook (cds-hooks/docs, hooks/order-select.md),
# shortened to what matters here but keeping its quirks: a Bundle without `type`, a NutritionOrder beside the
# MedicationRequest, `doseAndRate` as an object (R4 has an array).
SPEC_MEDICATION_REQUEST = {
    "resourceType": "MedicationRequest", "id": "smart-MedicationRequest-103",
    "meta": {"lastUpdated": "2018-04-30T13:25:40.845-04:00"},
    "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Amoxicillin 120 MG/ML / "
             "clavulanate potassium 8.58 MG/ML Oral Suspension (rxnorm: 617993)</div>"},
    "status": "draft", "intent": "order",
    "medicationCodeableConcept": {
        "coding": [{"system": RXNORM, "code": "617993",
                    "display": "Amoxicillin 120 MG/ML / clavulanate potassium 8.58 MG/ML Oral Suspension"}],
        "text": "Amoxicillin 120 MG/ML / clavulanate potassium 8.58 MG/ML Oral Suspension"},
    "subject": {"reference": "Patient/1288992"},
    "dosageInstruction": [{"text": "5 mL bid x 10 days",
                           "timing": {"repeat": {"boundsPeriod": {"start": "2005-01-04"}, "frequency": 2,
                                                 "period": 1, "periodUnit": "d"}},
                           "doseAndRate": {"doseQuantity": {"value": 5, "unit": "mL",
                                                            "system": "http://unitsofmeasure.org", "code": "mL"}}}],
    "dispenseRequest": {"numberOfRepeatsAllowed": 1,
                        "quantity": {"value": 1, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"},
                        "expectedSupplyDuration": {"value": 10, "unit": "days",
                                                   "system": "http://unitsofmeasure.org", "code": "d"}},
}
SPEC_NUTRITION_ORDER = {
    "resourceType": "NutritionOrder", "id": "pureeddiet-simple",
    "identifier": [{"system": "http://goodhealthhospital.org/nutrition-requests", "value": "123"}],
    "status": "draft", "patient": {"reference": "Patient/1288992"}, "dateTime": "2014-09-17",
    "orderer": {"reference": "Practitioner/example", "display": "Dr Adam Careful"},
    "oralDiet": {"type": [{"coding": [{"system": SNOMED, "code": "226211001", "display": "Pureed diet"}],
                           "text": "Pureed diet"}]},
}


def spec_request(hook: str) -> dict[str, Any]:
    """The specification's R4 example for `order-select` or `order-sign`, with hook and hookInstance."""
    context: dict[str, Any] = {
        "userId": "PractitionerRole/123", "patientId": "1288992", "encounterId": "89284",
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": SPEC_NUTRITION_ORDER},
                                                            {"resource": SPEC_MEDICATION_REQUEST}]}}
    if hook == "order-select":
        context["selections"] = ["NutritionOrder/pureeddiet-simple", "MedicationRequest/smart-MedicationRequest-103"]
    return {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "fhirServer": "http://hooks.smarthealthit.org:9080",
            "hook": hook, "context": context}


def medication_request(rid: str, patient: str, code: str | None, display: str | None, status: str = "draft",
                       system: str = RXNORM) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if code:
        concept["coding"] = [{"system": system, "code": code, **({"display": display} if display else {})}]
    if display:
        concept["text"] = display
    return {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
            "subject": {"reference": f"Patient/{patient}"}, "medicationCodeableConcept": concept}


def allergy(rid: str, patient: str, code: str, display: str, system: str = RXNORM, category: str = "medication",
            kind: str = "allergy") -> dict[str, Any]:
    return {"resourceType": "AllergyIntolerance", "id": rid, "type": kind, "category": [category],
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                           "code": "active"}]},
            "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
            "patient": {"reference": f"Patient/{patient}"}}


def condition(rid: str, patient: str, code: str | None, display: str, active: bool = True) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": display}
    if code:
        concept["coding"] = [{"system": SNOMED, "code": code, "display": display}]
    return {"resourceType": "Condition", "id": rid,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active" if active else "resolved"}]},
            "code": concept, "subject": {"reference": f"Patient/{patient}"}}


def bundle(resources: list[dict[str, Any]], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind,
            "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r} for r in resources]}


def hook_request(hook: str, patient: str, drafts: list[dict], medications: list[dict] | None = None,
                 allergies: list[dict] | None = None, conditions: list[dict] | None = None,
                 prefetch: bool = True) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/example", "patientId": patient,
                               "draftOrders": bundle(drafts)}
    if hook == "order-select":
        context["selections"] = [f"MedicationRequest/{d['id']}" for d in drafts]
    body: dict[str, Any] = {"hookInstance": str(uuid.uuid4()), "hook": hook, "context": context}
    if prefetch:
        body["prefetch"] = {"medications": bundle(medications or [], "searchset"),
                            "allergies": bundle(allergies or [], "searchset"),
                            "conditions": bundle(conditions or [], "searchset")}
    return body


def synthea_rows(data_dir: Path, name: str) -> list[dict[str, str]]:
    with open(data_dir / "synthea-sample" / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def synthea_current_medications(data_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Synthea patient id -> [(RxNorm code, description)] of the medications without a STOP date."""
    out: dict[str, list[tuple[str, str]]] = {}
    for row in synthea_rows(data_dir, "medications.csv"):
        if not row["STOP"]:
            meds = out.setdefault(row["PATIENT"], [])
            if (row["CODE"], row["DESCRIPTION"]) not in meds:
                meds.append((row["CODE"], row["DESCRIPTION"]))
    return out


def synthea_bundle(data_dir: Path, patient_ids: list[str], id_prefix: str = "",
                   kind: str = "transaction") -> dict[str, Any]:
    """A Synthea-style FHIR R4 Bundle (urn:uuid fullUrls and references) built from the CSV rows of `patient_ids`,
    with the identifiers a real export carries (name, address, birth date) so a test can check they are dropped."""
    people = {r["Id"]: r for r in synthea_rows(data_dir, "patients.csv") if r["Id"] in patient_ids}
    entries: list[dict[str, Any]] = []

    def add(resource: dict[str, Any]) -> None:
        request = {"method": "POST", "url": resource["resourceType"]} if kind == "transaction" else None
        entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource,
                        **({"request": request} if request else {})})

    for pid, row in people.items():
        patient: dict[str, Any] = {
            "resourceType": "Patient", "id": id_prefix + pid, "gender": {"M": "male", "F": "female"}[row["GENDER"]],
            "birthDate": row["BIRTHDATE"], "name": [{"family": row["LAST"], "given": [row["FIRST"]]}],
            "address": [{"line": [row["ADDRESS"]], "city": row["CITY"]}],
            "identifier": [{"system": "https://github.com/synthetichealth/synthea", "value": pid}],
            "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                           "extension": [{"url": "text", "valueString": row["RACE"].capitalize()}]}]}
        if row["DEATHDATE"]:
            patient["deceasedDateTime"] = row["DEATHDATE"]
        add(patient)
        add({"resourceType": "Encounter", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "enc" + pid)), "status": "finished",
             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
             "subject": {"reference": f"urn:uuid:{id_prefix + pid}"}})
    ref = {pid: {"reference": f"urn:uuid:{id_prefix + pid}"} for pid in people}
    for i, row in enumerate(synthea_rows(data_dir, "conditions.csv")):
        if row["PATIENT"] in people:
            add({"resourceType": "Condition", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"c{i}")),
                 "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                "code": "resolved" if row["STOP"] else "active"}]},
                 "code": {"coding": [{"system": SNOMED, "code": row["CODE"], "display": row["DESCRIPTION"]}],
                          "text": row["DESCRIPTION"]},
                 "subject": ref[row["PATIENT"]], "onsetDateTime": row["START"]})
    for i, row in enumerate(synthea_rows(data_dir, "medications.csv")):
        if row["PATIENT"] in people:
            add({"resourceType": "MedicationRequest", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"m{i}")),
                 "status": "completed" if row["STOP"] else "active", "intent": "order",
                 "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": row["CODE"],
                                                           "display": row["DESCRIPTION"]}],
                                               "text": row["DESCRIPTION"]},
                 "subject": ref[row["PATIENT"]], "authoredOn": row["START"]})
    for i, row in enumerate(synthea_rows(data_dir, "allergies.csv")):
        if row["PATIENT"] in people:
            system = RXNORM if row["SYSTEM"] == "RxNorm" else SNOMED
            add({"resourceType": "AllergyIntolerance", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"a{i}")),
                 "patient": ref[row["PATIENT"]], "recordedDate": row["START"],
                 "code": {"coding": [{"system": system, "code": row["CODE"], "display": row["DESCRIPTION"]}]}})
    return {"resourceType": "Bundle", "type": kind, "entry": entries}
