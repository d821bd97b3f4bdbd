"""`medkg patients import --fhir FILE_OR_DIR`: FHIR R4 Bundles into the graph, de-identified."""

from __future__ import annotations

import argparse
from pathlib import Path

from kg.cliutil import add_json_flag, emit, fail, table
from kg.settings import get_settings


def _human(report: dict) -> str:
    res = report["resolution"]
    lines = [f"{report['bundles']} bundle(s), {len(report['patients'])} patient(s) imported (pseudonymous ids)",
             table(sorted(report["imported"].items()), ("resource", "imported"))]
    if report["ignored"]:
        lines.append("ignored (not read by this import): " + ", ".join(f"{k} ×{v}"
                                                                      for k, v in sorted(report["ignored"].items())))
    for kind in ("medications", "conditions"):
        r = res[kind]
        total = len(r["resolved"]) + len(r["unresolved"])
        lines.append(f"{kind}: {len(r['resolved'])}/{total} resolved"
                     + (f"; unresolved: {', '.join(r['unresolved'][:10])}" if r["unresolved"] else ""))
    if report["rejected"]:
        lines.append(f"rejected {len(report['rejected'])} resource(s):")
        lines += [f"  {r['source']}: {r['path']}: {r['reason']}" for r in report["rejected"][:50]]
    return "\n".join(lines)


def cmd_patients(args: argparse.Namespace) -> int:
    from kg.db import driver_session
    from kg.fhir_import import FhirImporter, import_paths

    s = get_settings()
    path = args.fhir.resolve()
    if not path.exists():
        return fail(f"{path}: no such file or folder")
    with driver_session(s) as driver:
        importer = FhirImporter(driver, s.neo4j_database, s.medkg_data_dir)
        report = import_paths(importer, path, progress=not args.json).to_dict()
    emit(report, args.json, _human)
    return 0 if report["bundles"] else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("patients", help="import patients from FHIR R4 Bundles (de-identified)",
                       description="Import Patient, Condition, MedicationRequest/MedicationStatement and "
                                   "AllergyIntolerance resources from FHIR R4 Bundles (transaction, batch, collection "
                                   "or searchset), de-identified like Synthea's CSV patients; invalid resources are "
                                   "rejected with their path, the rest imported; re-importing changes nothing.")
    p.add_argument("action", choices=["import"])
    p.add_argument("--fhir", type=Path, required=True, metavar="FILE_OR_DIR",
                   help="a Bundle JSON file, or a folder of them (*.json, recursively)")
    add_json_flag(p)
    p.set_defaults(func=cmd_patients)
