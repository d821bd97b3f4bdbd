"""FHIR R4 in: `POST /fhir/Bundle` imports patients (de-identified) with their conditions, medications and
allergies; the report names what resolved, what did not, and every rejected resource with its path."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from kg.fhir_import import FhirImporter, ImportReport

router = APIRouter(tags=["fhir"])


class Resolution(BaseModel):
    resolved: list[str]
    unresolved: list[str]


class ImportOut(BaseModel):
    bundles: int
    patients: list[str] = Field(description="pseudonymous ids of the imported patients")
    imported: dict[str, int] = Field(description="accepted resources per type")
    ignored: dict[str, int] = Field(description="resource types this import does not read (Encounter, ...)")
    rejected: list[dict[str, str]] = Field(description="invalid resources: source, path, reason")
    resolution: dict[str, Resolution] = Field(description="medications -> DrugBank, conditions -> Disease Ontology")


def importer(request: Request) -> FhirImporter:
    app = request.app
    imp = getattr(app.state, "fhir_importer", None)
    if imp is None:
        settings = app.state.settings
        imp = FhirImporter(app.state.driver, settings.neo4j_database, settings.medkg_data_dir)
        imp._drugs = app.state.services.lookup.resolver  # the app's DrugBank resolver, already loaded
        app.state.fhir_importer = imp
    return imp


@router.post("/fhir/Bundle", response_model=ImportOut, summary="Import a FHIR R4 Bundle of patients (de-identified)",
             responses={400: {"description": "not JSON"}, 422: {"description": "not a Bundle of a usable type"}})
async def import_bundle(request: Request) -> Any:
    """A `transaction`, `batch`, `collection` or `searchset` Bundle: Patient, Condition (SNOMED CT),
    MedicationRequest / MedicationStatement (RxNorm), AllergyIntolerance. Stored like Synthea's CSV patients:
    pseudonymous id (keyed HMAC of Patient.id), age band, sex, years only; names, identifiers, addresses and
    exact dates are dropped. Invalid resources are rejected with their path and reason, the rest imported;
    re-importing the same Bundle changes nothing. Each imported patient gets an audit entry."""
    try:
        bundle = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        return JSONResponse(status_code=400, content={"detail": f"malformed JSON{where}: {exc}"})
    report = ImportReport()
    await run_in_threadpool(importer(request).import_bundle, bundle, "request", report)
    out = report.to_dict()
    key = getattr(request.state, "api_key", None)
    for pid in out["patients"]:
        request.app.state.audit.record(key, "patient.import", pid, outcome="ok", source="fhir")
    if report.bundles == 0:  # the Bundle itself was unusable
        return JSONResponse(status_code=422, content={"detail": [{"loc": ["body", r["path"]], "msg": r["reason"]}
                                                                 for r in out["rejected"]]})
    return out
