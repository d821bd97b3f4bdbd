"""Pseudonymous patients: create, read, diagnose, export, delete; every call is written to the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.routes.diagnosis import UNAVAILABLE, DiagnosisResponse, service
from api.services.diagnosis import DiagnosisUnavailable
from api.services.fhir_export import patient_bundle
from api.services.patients import NoIdentifiers, PatientService
from kg.errors import InvalidInput, ModelUnavailable, NotFound

router = APIRouter(tags=["patients"])
T = TypeVar("T")
PatientId = Annotated[str, Path(description="pseudonymous id", examples=["P-3f2a9c0d1e4b5a67"])]
NOT_FOUND = {404: {"description": "no patient with this id"}}


class PatientIn(NoIdentifiers):
    """Only age (stored as a 10-year band), sex and findings; direct identifiers are refused (422)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "age": 35, "sex": "F", "evidences": ["E_91", "E_201", "E_54_@_V_161"]}]})

    age: int = Field(ge=0, le=130, description="years; stored only as its band, e.g. 30-39")
    sex: str = Field(description="M or F")
    evidences: list[str] = Field(min_length=1, max_length=300, description="DDXPlus evidence codes")


class PatientOut(BaseModel):
    id: str
    properties: dict[str, Any]
    findings: list[dict[str, Any]]
    conditions: list[dict[str, Any]]
    medications: list[dict[str, Any]]
    allergies: list[dict[str, Any]]
    images: list[dict[str, Any]]
    other: list[dict[str, Any]]


class Deleted(BaseModel):
    deleted: str
    relationships: int = Field(description="relationships removed with the patient")
    images: int = Field(description="Image nodes (with their embeddings) removed")
    cached_predictions: int = Field(description="cached diagnosis answers dropped")


def _patients(request: Request) -> PatientService:
    return request.app.state.patients


def _audited(request: Request, action: str, patient_id: str | None, work: Callable[[], T], **extra: Any) -> T:
    """Run `work` and append one audit entry (who, what, which patient, outcome) whatever the outcome."""
    audit = request.app.state.audit
    key = getattr(request.state, "api_key", None)
    try:
        result = work()
    except NotFound:
        audit.record(key, action, patient_id, outcome="not_found", **extra)
        raise
    except InvalidInput as exc:
        audit.record(key, action, patient_id, outcome="invalid", field=exc.field, **extra)
        raise
    except HTTPException as exc:
        audit.record(key, action, patient_id, outcome=f"error {exc.status_code}", **extra)
        raise
    except ModelUnavailable:  # answered 503 by api/app.py's handler
        audit.record(key, action, patient_id, outcome="error 503", **extra)
        raise
    if isinstance(result, dict) and action == "patient.create":
        patient_id = result["id"]
    audit.record(key, action, patient_id, outcome="ok", **extra)
    return result


@router.post("/patients", status_code=201, response_model=PatientOut,
             summary="Store a pseudonymous patient (age band, sex, findings)")
def create_patient(request: Request, body: PatientIn) -> dict[str, Any]:
    """Creates `(:Patient {id, age_band, sex, origin: 'api'})-[:REPORTS {value}]->(:Evidence)`; unknown
    evidence codes are refused (422 naming the item); nothing else about the person is stored."""
    kb = service(request).kb
    if kb is None:
        raise DiagnosisUnavailable(service(request).error or "DDXPlus knowledge not loaded")

    def work() -> dict[str, Any]:
        pid = _patients(request).create(body.age, body.sex, body.evidences, kb)
        return _patients(request).get(pid)

    return _audited(request, "patient.create", None, work)


@router.get("/patients/{patient_id}", response_model=PatientOut, responses=NOT_FOUND,
            summary="One patient with all its data (findings, conditions, medications, allergies, images)")
def read_patient(request: Request, patient_id: PatientId) -> dict[str, Any]:
    """API-created and Synthea patients alike; every read is audited."""
    return _audited(request, "patient.read", patient_id, lambda: _patients(request).get(patient_id))


@router.get("/patients/{patient_id}/diagnosis", response_model=DiagnosisResponse,
            responses={**NOT_FOUND, **UNAVAILABLE}, summary="Differential diagnosis of a stored patient")
def diagnose_patient(request: Request, patient_id: PatientId,
                     top: Annotated[int, Query(ge=1, le=49)] = 10) -> dict[str, Any]:
    """Uses the stored findings, the sex and the middle of the age band; answers are cached per patient
    until it is deleted."""
    svc = service(request)

    def work() -> dict[str, Any]:
        age, sex, codes = _patients(request).for_diagnosis(patient_id)
        return svc.diagnose_patient(patient_id, age, sex, codes, top)

    return _audited(request, "patient.diagnose", patient_id, work, top=top)


@router.get("/patients/{patient_id}/export", responses=NOT_FOUND,
            summary="Everything stored about a patient, as JSON (node, relationships, audit entries)")
def export_patient(request: Request, patient_id: PatientId) -> dict[str, Any]:
    """The export's own audit entry is included in the entries it returns."""
    patients = _patients(request)
    data = _audited(request, "patient.export", patient_id, lambda: patients.export(patient_id, []))
    data["audit"] = request.app.state.audit.entries(patient_id)
    return data


@router.get("/patients/{patient_id}/fhir", responses=NOT_FOUND,
            summary="A patient's conditions, medications, allergies, findings and differential as a FHIR R4 Bundle")
def export_patient_fhir(request: Request, patient_id: PatientId) -> dict[str, Any]:
    """A `collection` Bundle validated with the FHIR R4(B) models: Patient (pseudonymous id, gender, age band
    extension; no birth date), Condition (SNOMED CT + Disease Ontology), MedicationStatement (RxNorm + DrugBank
    ingredients), AllergyIntolerance, one Observation per DDXPlus finding, and the differential diagnosis as a
    RiskAssessment marked as a model prediction (when the patient has findings and a diagnosis model is loaded).
    Dates are years only, as stored. Audited as `patient.export_fhir`."""
    patients = _patients(request)
    svc = getattr(request.app.state, "diagnosis", None)

    def work() -> dict[str, Any]:
        patient = patients.get(patient_id)
        diagnosis = None
        if patient["findings"] and svc is not None:
            try:
                age, sex, codes = patients.for_diagnosis(patient_id)
                diagnosis = svc.diagnose_patient(patient_id, age, sex, codes, 10)
            except (InvalidInput, DiagnosisUnavailable):
                diagnosis = None  # exported without a differential
        return patient_bundle(patient, request.app.state.driver, patients.database, diagnosis)

    return _audited(request, "patient.export_fhir", patient_id, work)


@router.delete("/patients/{patient_id}", response_model=Deleted, responses=NOT_FOUND,
               summary="Delete a patient from the graph and from derived artefacts")
def delete_patient(request: Request, patient_id: PatientId) -> dict[str, Any]:
    """DETACH DELETE of the patient, its images (with their embeddings) and its cached predictions.
    The audit log keeps the record of the deletion (pseudonymous id, who, when)."""
    svc = getattr(request.app.state, "diagnosis", None)

    def work() -> dict[str, Any]:
        counts = _patients(request).delete(patient_id)
        dropped = svc.forget(patient_id) if svc is not None else 0
        return {"deleted": patient_id, **counts, "cached_predictions": dropped}

    return _audited(request, "patient.delete", patient_id, work)
