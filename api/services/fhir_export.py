"""A stored patient as a FHIR R4 Bundle (type `collection`), validated with the R4(B) models before it leaves.

Patient (pseudonymous id, gender, age band as an extension, no birth date), Condition (SNOMED CT code plus the
Disease Ontology term it maps to), MedicationStatement (RxNorm product plus its DrugBank ingredients),
AllergyIntolerance, Observation per reported DDXPlus finding, and the patient's differential diagnosis as a
RiskAssessment labelled as a model prediction. Years only, as stored (FHIR dateTime allows `YYYY`).
"""

from __future__ import annotations

import uuid
from typing import Any

from neo4j import Driver

from api.services.db import run_read
from kg.fhir import DDXPLUS, DOID, DRUGBANK, FHIR_VERSION, RXNORM, SNOMED, validate

AGE_BAND_URL = "https://medkg.local/fhir/StructureDefinition/age-band"
MAPS_QUERY = """
MATCH (p:Patient {id: $id})
RETURN COLLECT { MATCH (p)-[:TAKES]->(m:Medication)-[:CONTAINS]->(d:Drug)
                 RETURN {medication: m.id, id: d.id, name: d.name} } AS ingredients,
       COLLECT { MATCH (p)-[:HAS_CONDITION|ALLERGIC_TO]->(c:Condition)-[:MAPS_TO]->(dis:Disease)
                 RETURN {condition: c.id, id: dis.id, name: dis.name} } AS diseases"""
GENDER = {"M": "male", "F": "female"}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"


def _year(value: Any) -> str | None:
    return str(value) if isinstance(value, int) and 1000 <= value <= 9999 else None


def _allergy_system(code: str) -> str:
    """Synthea's allergies are SNOMED CT substances or RxNorm ingredients, stored alike as Condition nodes; a SNOMED
    CT id has at least 6 digits, the RxNorm ingredients Synthea uses (1191 aspirin, 7984 penicillin V, 29046
    lisinopril) fewer."""
    return RXNORM if code.isdigit() and len(code) < 6 else SNOMED


def _outcome(c: dict[str, Any]) -> dict[str, Any]:
    text = c.get("name") or c["pathology"]
    out: dict[str, Any] = {"text": text}
    if c.get("icd10"):
        out["coding"] = [{"system": "http://hl7.org/fhir/sid/icd-10", "code": c["icd10"], "display": text}]
    return out


def _full_url(resource: dict[str, Any]) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'medkg:' + resource['resourceType'] + '/' + resource['id'])}"


def _status(active: Any, system: str) -> dict[str, Any]:
    code = "active" if active else ("resolved" if system == CLINICAL else "inactive")
    return {"coding": [{"system": system, "code": code}]}


def patient_bundle(patient: dict[str, Any], driver: Driver, database: str,
                   diagnosis: dict[str, Any] | None = None) -> dict[str, Any]:
    """The FHIR R4 Bundle of a patient as `PatientService.get` returns it (plus ingredient and disease maps)."""
    pid = patient["id"]
    props = patient["properties"]
    ref = {"reference": f"Patient/{pid}"}
    maps = run_read(driver, database, MAPS_QUERY, {"id": pid})[0]
    ingredients: dict[str, list[dict]] = {}
    for row in maps["ingredients"]:
        ingredients.setdefault(row["medication"], []).append(row)
    diseases: dict[str, list[dict]] = {}
    for row in maps["diseases"]:
        diseases.setdefault(row["condition"], []).append(row)

    person: dict[str, Any] = {"resourceType": "Patient", "id": pid,
                              "meta": {"tag": [{"system": "https://medkg.local/fhir/tags", "code": "pseudonymised",
                                                "display": "pseudonymous id; age band instead of birth date"}]}}
    if props.get("sex") in GENDER:
        person["gender"] = GENDER[props["sex"]]
    if props.get("age_band"):
        person["extension"] = [{"url": AGE_BAND_URL, "valueString": props["age_band"]}]
    if isinstance(props.get("deceased"), bool):
        person["deceasedBoolean"] = props["deceased"]
    resources: list[dict[str, Any]] = [person]

    for i, c in enumerate(patient["conditions"]):
        coding = [{"system": SNOMED, "code": str(c["id"]), "display": c.get("name") or str(c["id"])}]
        coding += [{"system": DOID, "code": d["id"], "display": d["name"]} for d in diseases.get(c["id"], [])]
        cond: dict[str, Any] = {"resourceType": "Condition", "id": f"{pid}-c{i}", "subject": ref,
                                "code": {"coding": coding, "text": c.get("name") or str(c["id"])},
                                "clinicalStatus": _status(c.get("active"), CLINICAL)}
        if _year(c.get("first_year")):
            cond["onsetDateTime"] = _year(c["first_year"])
        resources.append(cond)

    for i, m in enumerate(patient["medications"]):
        coding = [{"system": RXNORM, "code": str(m["id"]), "display": m.get("name") or str(m["id"])}]
        coding += [{"system": DRUGBANK, "code": d["id"], "display": d["name"]} for d in ingredients.get(m["id"], [])]
        statement: dict[str, Any] = {"resourceType": "MedicationStatement", "id": f"{pid}-m{i}", "subject": ref,
                                     "status": "active" if m.get("current") else "completed",
                                     "medicationCodeableConcept": {"coding": coding,
                                                                   "text": m.get("name") or str(m["id"])}}
        if _year(m.get("first_year")):
            statement["effectivePeriod"] = {"start": _year(m["first_year"])}
        resources.append(statement)

    for i, a in enumerate(patient["allergies"]):
        system = _allergy_system(str(a["id"]))
        allergy: dict[str, Any] = {"resourceType": "AllergyIntolerance", "id": f"{pid}-a{i}", "patient": ref,
                                   "code": {"coding": [{"system": system, "code": str(a["id"]),
                                                        "display": a.get("name") or str(a["id"])}],
                                            "text": a.get("name") or str(a["id"])},
                                   "clinicalStatus": _status(a.get("active", True), ALLERGY_CLINICAL)}
        if _year(a.get("first_year")):
            allergy["onsetDateTime"] = _year(a["first_year"])
        resources.append(allergy)

    for i, f in enumerate(patient["findings"]):
        obs: dict[str, Any] = {"resourceType": "Observation", "id": f"{pid}-f{i}", "status": "final", "subject": ref,
                               "code": {"coding": [{"system": DDXPLUS, "code": f["evidence"]}],
                                        "text": f.get("question") or f["evidence"]}}
        if f.get("value") is not None:
            obs["valueString"] = str(f["value"])
        else:
            obs["valueBoolean"] = True
        resources.append(obs)

    if diagnosis and diagnosis.get("differential"):
        model = diagnosis.get("model") or {}
        name = model.get("name", "diagnosis model") if isinstance(model, dict) else str(model)
        version = model.get("version") if isinstance(model, dict) else None
        resources.append({
            "resourceType": "RiskAssessment", "id": f"{pid}-dx", "status": "final", "subject": ref,
            "method": {"text": f"MedKG model prediction: {name}" + (f" ({version})" if version else "")},
            "basis": [{"reference": f"Observation/{pid}-f{i}"} for i in range(len(patient["findings"]))],
            "prediction": [{"outcome": _outcome(c), "probabilityDecimal": round(float(c["probability"]), 6)}
                           for c in diagnosis["differential"]],
            "note": [{"text": "Model prediction (differential diagnosis from the reported findings), not a "
                              "recorded diagnosis."}]})

    bundle = {"resourceType": "Bundle", "type": "collection",
              "meta": {"tag": [{"system": "https://medkg.local/fhir/tags", "code": "fhir-version",
                                "display": FHIR_VERSION}]},
              "entry": [{"fullUrl": _full_url(r), "resource": r} for r in resources]}
    for i, r in enumerate(resources):  # a defect here is ours: fail loudly rather than send invalid FHIR
        validate(r, f"entry[{i}].resource")
    validate(bundle, "Bundle")
    return bundle
