"""FHIR R4 Bundles (transaction, batch, collection or searchset) into the graph, de-identified as the Synthea
CSV path does it: the pseudonym is the keyed HMAC of `Patient.id` (a Synthea patient gets the same `P-` id from
its FHIR bundle as from its CSV row), the age a 10-year band, dates years only; names, identifiers, addresses,
telecom, exact dates are never stored.

Imported: Patient, Condition (SNOMED CT), MedicationRequest / MedicationStatement (RxNorm; ingredients resolved
to DrugBank like Synthea's medications), AllergyIntolerance. Each resource is validated with the R4(B) model of
its type; an invalid one is rejected with its path (`entry[3].resource.code`) and reason and the rest is
imported. Writes MERGE on ids and SET whole aggregates, so a re-import changes nothing. Imported nodes and
relationships carry no `build_id`: graph builds keep them (as they keep API-created patients).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from neo4j import Driver, ManagedTransaction

from kg.adapters.synthea import age_band, pseudonym_key, pseudonymise
from kg.fhir import RXNORM_SYSTEMS, SNOMED_SYSTEMS, FhirInvalid, bundle_resources, codings, concept_label, validate
from kg.fhir import status_code as fhir_status

IMPORTED = ("Patient", "Condition", "MedicationRequest", "MedicationStatement", "AllergyIntolerance")
BUNDLE_TYPES = {"transaction", "batch", "collection", "searchset"}
PROVENANCE = {"sources": ["fhir-import"], "source_versions": ["fhir:R4"],
              "licenses": ["patient data (pseudonymous; not for redistribution)"]}
GENDER = {"male": "M", "female": "F"}
CURRENT = {"active", "on-hold", "intended"}
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-"


@dataclass
class ImportReport:
    bundles: int = 0
    patients: list[str] = field(default_factory=list)
    imported: Counter = field(default_factory=Counter)
    ignored: Counter = field(default_factory=Counter)
    rejected: list[dict[str, str]] = field(default_factory=list)
    medications: dict[str, list[str]] = field(default_factory=lambda: {"resolved": [], "unresolved": []})
    conditions: dict[str, list[str]] = field(default_factory=lambda: {"resolved": [], "unresolved": []})

    def to_dict(self) -> dict[str, Any]:
        return {"bundles": self.bundles, "patients": sorted(set(self.patients)), "imported": dict(self.imported),
                "ignored": dict(self.ignored), "rejected": self.rejected,
                "resolution": {"medications": {k: sorted(set(v)) for k, v in self.medications.items()},
                               "conditions": {k: sorted(set(v)) for k, v in self.conditions.items()}}}


def _year(*values: Any) -> int | None:
    for v in values:
        if isinstance(v, str) and len(v) >= 4 and v[:4].isdigit():
            return int(v[:4])
    return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) and len(value) >= 10 else None
    except ValueError:
        return None


def _us_core(resource: dict[str, Any], kind: str) -> str | None:
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == US_CORE + kind:
            for sub in ext.get("extension") or []:
                if sub.get("url") == "text" and isinstance(sub.get("valueString"), str):
                    return sub["valueString"].lower()
    return None


class FhirImporter:
    """Imports bundles through one driver; resolvers (DrugBank names, Disease Ontology) load on first need."""

    def __init__(self, driver: Driver, database: str, data_dir: Path, today: date | None = None) -> None:
        self.driver, self.database, self.data_dir = driver, database, data_dir
        self.today = today or date.today()
        self.key = pseudonym_key()
        self._drugs = self._diseases = None

    def _drug_resolver(self):
        if self._drugs is None:
            from kg.adapters.resolvers import drug_resolver

            self._drugs = drug_resolver(self.data_dir)
        return self._drugs

    def _disease_resolver(self):
        if self._diseases is None:
            from kg.adapters.resolvers import disease_resolver

            self._diseases = disease_resolver(self.data_dir)
        return self._diseases

    # ----- parse ---------------------------------------------------------------------------------
    def import_bundle(self, bundle: Any, source: str, report: ImportReport) -> None:
        """Validate, de-identify and write one Bundle; rejects go to `report` with `source` and path."""
        def reject(path: str, reason: str) -> None:
            report.rejected.append({"source": source, "path": path, "reason": reason})

        try:
            entries = list(bundle_resources(bundle, "Bundle"))
        except FhirInvalid as exc:
            reject(exc.path, exc.reason)
            return
        if bundle.get("type") not in BUNDLE_TYPES:
            reject("Bundle.type", f"expected one of {', '.join(sorted(BUNDLE_TYPES))}, got {bundle.get('type')!r}")
            return
        report.bundles += 1
        valid: list[tuple[str, dict[str, Any]]] = []
        medications: dict[str, dict[str, Any]] = {}  # Medication resources by reference, for medicationReference
        for i, resource, full_url in entries:
            path = f"entry[{i}].resource"
            kind = resource.get("resourceType")
            if kind not in IMPORTED and kind != "Medication":
                report.ignored[str(kind)] += 1
                continue
            try:
                validate(resource, path)
            except FhirInvalid as exc:
                reject(exc.path, exc.reason)
                continue
            if kind == "Medication":
                for key in (f"Medication/{resource.get('id')}", full_url):
                    if key:
                        medications[key] = resource
                continue
            valid.append((path, {**resource, "_fullUrl": full_url}))

        patients: dict[str, dict[str, Any]] = {}  # reference -> patient row
        for path, r in valid:
            if r["resourceType"] != "Patient":
                continue
            source_id = r.get("id") or (r["_fullUrl"] or "").removeprefix("urn:uuid:")
            if not source_id:
                reject(f"{path}.id", "a Patient needs an id (or a urn:uuid fullUrl) to be pseudonymised")
                continue
            birth = _date(r.get("birthDate"))
            death = _date(r.get("deceasedDateTime"))
            row = {"id": pseudonymise(source_id, self.key), "sex": GENDER.get(r.get("gender") or ""),
                   "age_band": age_band(birth, death or self.today) if birth else None,
                   "deceased": bool(r.get("deceasedBoolean") or death), "race": _us_core(r, "race"),
                   "ethnicity": _us_core(r, "ethnicity")}
            for ref in (f"Patient/{r.get('id')}", r["_fullUrl"]):
                if ref:
                    patients[ref] = row
        rows: dict[str, dict] = {"conditions": {}, "medications": {}, "allergies": {}}
        for path, r in valid:
            kind = r["resourceType"]
            if kind == "Patient":
                continue
            element = "patient" if kind == "AllergyIntolerance" else "subject"
            ref = (r.get(element) or {}).get("reference")
            patient = patients.get(ref or "")
            if patient is None:
                reject(f"{path}.{element}", f"refers to {ref!r}, which is no Patient of this Bundle")
                continue
            if kind == "Condition":
                ok = self._condition(path, r, patient["id"], rows["conditions"], reject)
            elif kind == "AllergyIntolerance":
                ok = self._allergy(path, r, patient["id"], rows["allergies"], reject)
            else:
                ok = self._medication(path, r, patient["id"], medications, rows["medications"], reject)
            if ok:
                report.imported[kind] += 1
        people = list({id(p): p for p in patients.values()}.values())
        report.imported["Patient"] += len(people)
        self._write(people, rows, report)

    @staticmethod
    def _code(concept: Any, systems: frozenset[str]) -> str | None:
        for c in codings(concept):
            if c.system in systems and c.code and c.code.isdigit():
                return c.code
        return None

    def _condition(self, path: str, r: dict, pid: str, out: dict, reject) -> bool:
        code = self._code(r.get("code"), SNOMED_SYSTEMS)
        if code is None:
            reject(f"{path}.code", "no SNOMED CT coding (http://snomed.info/sct) with a numeric code")
            return False
        active = fhir_status(r, "clinicalStatus") in {"active", "recurrence", "relapse"} or (
            r.get("clinicalStatus") is None and not r.get("abatementDateTime"))
        self._aggregate(out, (pid, code), concept_label(r.get("code")), "SNOMEDCT",
                        _year(r.get("onsetDateTime"), r.get("recordedDate")), active)
        return True

    def _allergy(self, path: str, r: dict, pid: str, out: dict, reject) -> bool:
        rx = self._code(r.get("code"), RXNORM_SYSTEMS)
        code = rx or self._code(r.get("code"), SNOMED_SYSTEMS)
        if code is None:
            reject(f"{path}.code", "no SNOMED CT or RxNorm coding with a numeric code")
            return False
        active = fhir_status(r, "clinicalStatus") in {None, "active"}
        self._aggregate(out, (pid, code), concept_label(r.get("code")), "RXNORM" if rx else "SNOMEDCT",
                        _year(r.get("onsetDateTime"), r.get("recordedDate")), active)
        return True

    def _medication(self, path: str, r: dict, pid: str, medications: dict, out: dict, reject) -> bool:
        concept = r.get("medicationCodeableConcept")
        if concept is None:
            target = medications.get(str((r.get("medicationReference") or {}).get("reference")))
            concept = target.get("code") if target else None
        code = self._code(concept, RXNORM_SYSTEMS)
        if code is None:
            element = "medicationCodeableConcept" if "medicationCodeableConcept" in r else "medicationReference"
            reject(f"{path}.{element}", "no RxNorm coding (http://www.nlm.nih.gov/research/umls/rxnorm) with a "
                                        "numeric code (a medicationReference must point to a Medication of the "
                                        "Bundle)")
            return False
        period = r.get("effectivePeriod") or {}
        year = _year(r.get("authoredOn"), r.get("effectiveDateTime"), period.get("start"), r.get("dateAsserted"))
        self._aggregate(out, (pid, code), concept_label(concept), "RXNORM", year, r.get("status") in CURRENT)
        return True

    @staticmethod
    def _aggregate(out: dict, key: tuple[str, str], name: str, prefix: str, year: int | None, active: bool) -> None:
        """Per (patient, code) as the Synthea path: first year, active/current, number of records."""
        e = out.setdefault(key, {"pid": key[0], "code": key[1], "name": name, "curie": f"{prefix}:{key[1]}",
                                 "first_year": None, "active": False, "episodes": 0})
        e["episodes"] += 1
        e["active"] = e["active"] or active
        if year is not None and (e["first_year"] is None or year < e["first_year"]):
            e["first_year"] = year

    # ----- write ---------------------------------------------------------------------------------
    def _write(self, patients: list[dict], rows: dict[str, dict], report: ImportReport) -> None:
        conditions, medications = list(rows["conditions"].values()), list(rows["medications"].values())
        allergies = list(rows["allergies"].values())
        known = self._known(conditions, medications)
        maps, contains = [], []
        for e in conditions:
            if e["code"] in known["mapped"]:
                report.conditions["resolved"].append(e["name"])
                continue
            res = self._disease_resolver().match_xref(f"SNOMEDCT:{e['code']}").resolution or \
                self._disease_resolver().resolve(e["name"])
            if res is None:
                report.conditions["unresolved"].append(e["name"])
            else:
                report.conditions["resolved"].append(e["name"])
                maps.append({"code": e["code"], "disease": res.id, "method": res.method, "score": res.score})
        for e in medications:
            if e["code"] in known["contains"]:
                report.medications["resolved"].append(e["name"])
                continue
            results = self._drug_resolver().resolve_product(e["name"])
            found = [r for r in results if r is not None]
            (report.medications["resolved"] if results and len(found) == len(results)
             else report.medications["unresolved"]).append(e["name"])
            contains += [{"code": e["code"], "drug": r.id, "method": r.method, "matched_name": r.matched_name}
                         for r in found]

        def work(tx: ManagedTransaction) -> None:
            tx.run("""UNWIND $rows AS row MERGE (p:Patient {id: row.id})
                      ON CREATE SET p.origin = 'fhir', p += $prov
                      SET p.age_band = coalesce(row.age_band, p.age_band), p.sex = coalesce(row.sex, p.sex),
                          p.deceased = row.deceased, p.race = coalesce(row.race, p.race),
                          p.ethnicity = coalesce(row.ethnicity, p.ethnicity)""",
                   rows=patients, prov=PROVENANCE).consume()
            for label, rel, items in (("Condition", "HAS_CONDITION", conditions),
                                      ("Condition", "ALLERGIC_TO", allergies),
                                      ("Medication", "TAKES", medications)):
                flag = "current" if rel == "TAKES" else "active"
                tx.run(f"""UNWIND $rows AS row MATCH (p:Patient {{id: row.pid}})
                           MERGE (t:{label} {{id: row.code}}) ON CREATE SET t.name = row.name, t.curie = row.curie,
                                                                            t += $prov
                           MERGE (p)-[r:{rel}]->(t)
                           ON CREATE SET r += $prov
                           SET r.first_year = row.first_year, r.{flag} = row.active, r.episodes = row.episodes""",
                       rows=items, prov=PROVENANCE).consume()
            tx.run("""UNWIND $rows AS row MATCH (c:Condition {id: row.code}), (d:Disease {id: row.disease})
                      MERGE (c)-[r:MAPS_TO]->(d)
                      ON CREATE SET r += $prov, r.method = row.method, r.score = row.score""",
                   rows=maps, prov=PROVENANCE).consume()
            tx.run("""UNWIND $rows AS row MATCH (m:Medication {id: row.code}), (d:Drug {id: row.drug})
                      MERGE (m)-[r:CONTAINS]->(d)
                      ON CREATE SET r += $prov, r.method = row.method, r.matched_name = row.matched_name""",
                   rows=contains, prov=PROVENANCE).consume()

        with self.driver.session(database=self.database) as session:
            session.execute_write(work)
        report.patients.extend(p["id"] for p in patients)

    def _known(self, conditions: list[dict], medications: list[dict]) -> dict[str, set[str]]:
        """Codes the graph already maps (Synthea's conditions and medications): no resolver needed for those."""
        with self.driver.session(database=self.database) as session:
            rec = session.run("""
                RETURN COLLECT { MATCH (c:Condition)-[:MAPS_TO]->(:Disease) WHERE c.id IN $c RETURN DISTINCT c.id }
                         AS mapped,
                       COLLECT { MATCH (m:Medication)-[:CONTAINS]->(:Drug) WHERE m.id IN $m RETURN DISTINCT m.id }
                         AS contains""", c=[e["code"] for e in conditions], m=[e["code"] for e in medications]).single()
        return {"mapped": set(rec["mapped"]), "contains": set(rec["contains"])}


def bundle_files(path: Path) -> list[Path]:
    """A file, or every *.json under a folder (sorted)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if p.is_file())
    return [path]


def import_paths(importer: FhirImporter, path: Path, progress: bool = False) -> ImportReport:
    from kg.errors import InvalidInput

    files = bundle_files(path)
    if not files:
        raise InvalidInput(f"{path}: no *.json FHIR bundles found", "fhir")
    report = ImportReport()
    iterator = files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(files, desc="FHIR bundles", unit="file")
    for file in iterator:
        try:
            bundle = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f" line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            report.rejected.append({"source": str(file), "path": "(file)", "reason": f"not JSON{where}: {exc}"})
            continue
        importer.import_bundle(bundle, str(file), report)
    return report
