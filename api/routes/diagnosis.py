"""`POST /diagnosis`: ranked differential over the DDXPlus pathologies, every candidate with its evidence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.services.diagnosis import DiagnosisService, DiagnosisUnavailable
from api.services.patients import NoIdentifiers

router = APIRouter(tags=["diagnosis"])
UNAVAILABLE = {503: {"description": "the diagnosis model artefact is unusable (message says why)"}}


class DiagnosisRequest(NoIdentifiers):
    """Age, sex and findings: DDXPlus evidence codes, symptom names or MeSH ids, free text."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "age": 35, "sex": "F", "evidences": ["E_91", "E_201", "E_54_@_V_161"], "symptoms": ["sore throat"],
        "text": "I have a runny nose", "top": 5}]})

    age: int = Field(ge=0, le=130, description="years")
    sex: str = Field(description="M or F (male/female accepted)")
    evidences: list[str] = Field(default_factory=list, max_length=300,
                                 description="DDXPlus codes: E_91, E_54_@_V_161, E_56_@_2")
    symptoms: list[str] = Field(default_factory=list, max_length=100,
                                description="symptom names ('fever') or MeSH ids ('D005334')")
    text: str | None = Field(default=None, max_length=5000, description="free-text complaint")
    top: int = Field(default=10, ge=1, le=49, description="candidates to return")


class FindingRef(BaseModel):
    code: str
    evidence: str
    question: str
    value: str | None = None
    edge: dict[str, Any] | None = Field(default=None, description="the Pathology-HAS_SYMPTOM/HAS_ANTECEDENT->"
                                                                  "Evidence relationship with its provenance")


class CandidateOut(BaseModel):
    rank: int
    pathology: str
    name: str | None = None
    probability: float
    icd10: str
    severity: int
    in_differential: bool = Field(default=False, description="probability ≥ the model run's differential "
                                  "threshold (model.differential_threshold, chosen by cross-fitting; "
                                  "docs/diagnosis.md); always false for the graph baseline")
    diseases: list[dict[str, Any]] = Field(description="Pathology-MAPS_TO->Disease (DOID) with provenance")
    supporting: list[FindingRef]
    absent: list[FindingRef]


class DiagnosisResponse(BaseModel):
    model: dict[str, Any]
    findings: list[str]
    symptoms: list[dict[str, Any]]
    text: dict[str, Any] | None = None
    unrecognised: list[dict[str, Any]]
    attention: dict[str, float]
    differential: list[CandidateOut]
    cached: bool | None = None


def service(request: Request) -> DiagnosisService:
    """The app's diagnosis service; an unusable model raises DiagnosisUnavailable (503, in api/app.py)."""
    svc: DiagnosisService | None = getattr(request.app.state, "diagnosis", None)
    if svc is None:
        raise DiagnosisUnavailable("diagnosis service not started")
    return svc


@router.post("/diagnosis", response_model=DiagnosisResponse, responses=UNAVAILABLE,
             summary="Differential diagnosis from findings (DDXPlus evidences, symptoms, free text)")
def diagnose(request: Request, body: DiagnosisRequest) -> dict[str, Any]:
    """Ranked pathologies with probabilities; per candidate the patient's supporting findings and the
    expected findings that are absent, each with its graph edge, and the Disease the pathology maps to.
    Unrecognised inputs are listed, never dropped; 422 when no finding is given or none is recognised."""
    svc = service(request)
    answer = svc.diagnose(body.age, body.sex, body.evidences, body.symptoms, body.text, body.top)
    request.app.state.audit.record(request.state.api_key, "diagnosis", None, findings=len(answer["findings"]),
                                   model=answer["model"].get("name"))
    return answer
