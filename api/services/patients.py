"""Pseudonymous patients in the graph: create, read, export, delete (with derived artefacts).

Stored: `(:Patient {id: 'P-'+16 hex, age_band, sex, origin: 'api'})-[:REPORTS {value}]->(:Evidence)`,
no `build_id` (builds keep them). No direct identifiers: requests naming one are refused.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from neo4j import Driver, ManagedTransaction
from pydantic import BaseModel, model_validator

from api.services import serialize
from api.services.db import run_read, write_tx
from gnn.diagnosis.findings import SEP, parse_finding, parse_sex
from gnn.diagnosis.knowledge import Knowledge
from kg.errors import InvalidInput, NotFound

ID_PATTERN = re.compile(r"^P-[0-9a-f]{12,}$")
ORIGIN = "api"
PROVENANCE = {"sources": ["medkg-api"], "source_versions": ["medkg-api:1"],
              "licenses": ["patient data (pseudonymous; not for redistribution)"]}
# Direct identifiers (HIPAA Safe Harbor style), compared after lower-casing and dropping non-letters.
DIRECT_IDENTIFIERS = frozenset({
    "name", "firstname", "lastname", "familyname", "givenname", "fullname", "middlename", "surname", "maidenname",
    "address", "street", "streetaddress", "city", "zip", "zipcode", "postcode", "postalcode", "county",
    "phone", "phonenumber", "telephone", "mobile", "fax", "email", "emailaddress",
    "birthdate", "dateofbirth", "dob", "birthday", "deathdate", "dateofdeath",
    "ssn", "socialsecuritynumber", "nationalid", "passport", "passportnumber", "driverslicense",
    "mrn", "medicalrecordnumber", "healthplannumber", "insuranceid", "accountnumber",
    "ipaddress", "ip", "url", "photo", "image", "face", "fingerprint", "licensenumber", "vehicleid", "deviceid",
})
RELATION_SECTIONS = {"REPORTS": "findings", "HAS_CONDITION": "conditions", "TAKES": "medications",
                     "ALLERGIC_TO": "allergies", "HAS_IMAGE": "images"}

READ_QUERY = """
MATCH (p:Patient {id: $id})
RETURN p, COLLECT {
  MATCH (p)-[r]-(t)
  RETURN {type: type(r), direction: CASE WHEN startNode(r) = p THEN 'out' ELSE 'in' END,
          properties: properties(r), target: {labels: labels(t), id: t.id, name: t.name,
          properties: properties(t)}}
  ORDER BY type(r), t.id
} AS relationships"""


def refuse_identifiers(payload: dict[str, Any]) -> None:
    """422 naming the first field that is a direct identifier (name, address, birth date, SSN, ...)."""
    for key in payload:
        if re.sub(r"[^a-z]", "", str(key).lower()) in DIRECT_IDENTIFIERS:
            raise InvalidInput(f"{key}: direct identifiers are not accepted; MedKG stores pseudonymous patients "
                               "only (age → age band, sex, findings)", str(key))


class NoIdentifiers(BaseModel):
    """Base for request bodies about a patient: direct identifier fields are refused with 422."""

    @model_validator(mode="before")
    @classmethod
    def _no_identifiers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            refuse_identifiers(data)
        return data


def age_band(age: int) -> str:
    """10-year band as the Synthea patients have it: '30-39', ..., '90+'."""
    if not 0 <= age <= 130:
        raise InvalidInput(f"age: {age!r} is outside 0-130", "age")
    if age >= 90:
        return "90+"
    low = (age // 10) * 10
    return f"{low}-{low + 9}"


def band_age(band: str | None) -> int | None:
    """A representative age for a band ('30-39' -> 35, '90+' -> 92); None if unknown."""
    m = re.match(r"^(\d+)(?:-(\d+)|\+)$", band or "")
    if not m:
        return None
    low = int(m.group(1))
    return (low + int(m.group(2)) + 1) // 2 if m.group(2) else low + 2


def new_id() -> str:
    return "P-" + secrets.token_hex(8)


def _target(t: dict[str, Any], full: bool) -> dict[str, Any]:
    labels = sorted(t["labels"])
    out = {"label": labels[0] if labels else None, "id": t["id"], "name": t["name"]}
    if full:
        out["labels"] = labels
        out["properties"] = serialize.properties(t["properties"])
    return out


def _finding(rel: dict[str, Any]) -> dict[str, Any]:
    t, props = rel["target"], rel["properties"]
    value = props.get("value")
    code = t["id"] if value is None else f"{t['id']}{SEP}{value}"
    return {"code": code, "evidence": t["id"], "value": value, "question": t["properties"].get("question_en"),
            **{k: props.get(k) for k in ("sources", "licenses") if props.get(k) is not None}}


class PatientService:
    def __init__(self, driver: Driver, database: str) -> None:
        self.driver, self.database = driver, database

    def _write(self, work):
        return write_tx(self.driver, self.database, work)

    @staticmethod
    def check_id(patient_id: str) -> None:
        if not ID_PATTERN.match(patient_id):
            raise NotFound(f"no patient with id {patient_id!r} (patient ids look like P-0123456789abcdef)")

    # ----- create ---------------------------------------------------------------------------------
    def create(self, age: int, sex: str, evidences: list[str], kb: Knowledge) -> str:
        """Validate everything first, then write the patient and its REPORTS in one transaction."""
        band, sex = age_band(age), parse_sex(sex)
        if not evidences:
            raise InvalidInput("evidences: empty; give at least one DDXPlus evidence code (e.g. E_91)", "evidences")
        rows, seen = [], set()
        for i, raw in enumerate(evidences):
            f = parse_finding(str(raw), kb)
            if f is None:
                raise InvalidInput(f"evidences[{i}]: {raw!r} is not a DDXPlus evidence code (with a valid value)",
                                   f"evidences[{i}]")
            if f.token not in seen:
                seen.add(f.token)
                rows.append({"evidence": f.evidence, "value": f.value})
        pid = new_id()

        def work(tx: ManagedTransaction) -> None:
            tx.run("CREATE (p:Patient {id: $id, age_band: $band, sex: $sex, origin: $origin}) SET p += $prov",
                   id=pid, band=band, sex=sex, origin=ORIGIN, prov=PROVENANCE).consume()
            n = tx.run("""
                MATCH (p:Patient {id: $id})
                UNWIND $rows AS row
                MATCH (e:Evidence {id: row.evidence})
                CREATE (p)-[r:REPORTS]->(e) SET r += $prov, r.value = row.value
                RETURN count(r) AS n""", id=pid, rows=rows, prov=PROVENANCE).single()["n"]
            if n != len(rows):  # an evidence the files know but the graph lacks: write nothing
                missing = [r["evidence"] for r in rows]
                raise InvalidInput(f"evidences: the graph lacks some of {missing} (is the graph built?)", "evidences")

        self._write(work)
        return pid

    # ----- read -----------------------------------------------------------------------------------
    def _records(self, patient_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        self.check_id(patient_id)
        rows = run_read(self.driver, self.database, READ_QUERY, {"id": patient_id})
        if not rows:
            raise NotFound(f"no patient with id {patient_id!r}")
        return rows[0]["p"], rows[0]["relationships"]

    def get(self, patient_id: str) -> dict[str, Any]:
        """The patient's properties and its data grouped by kind (findings, conditions, medications, ...)."""
        node, rels = self._records(patient_id)
        out: dict[str, Any] = {"id": node["id"],
                               "properties": serialize.properties({k: v for k, v in node.items() if k != "id"}),
                               "findings": [], "conditions": [], "medications": [], "allergies": [], "images": [],
                               "other": []}
        for rel in rels:
            if rel["type"] == "REPORTS":
                out["findings"].append(_finding(rel))
                continue
            entry = {**_target(rel["target"], full=False),
                     **{k: serialize.plain(v) for k, v in sorted(rel["properties"].items()) if k != "build_id"}}
            out[RELATION_SECTIONS.get(rel["type"], "other")].append(
                entry if rel["type"] in RELATION_SECTIONS else {"type": rel["type"], **entry})
        return out

    def for_diagnosis(self, patient_id: str) -> tuple[int, str, list[str]]:
        """(representative age, sex, finding codes) of a stored patient."""
        patient = self.get(patient_id)
        props = patient["properties"]
        age = band_age(props.get("age_band"))
        if age is None:
            raise InvalidInput(f"patient {patient_id} has no usable age band ({props.get('age_band')!r})", "age_band")
        codes = [f["code"] for f in patient["findings"]]
        if not codes:
            raise InvalidInput(f"patient {patient_id} has no reported findings (REPORTS -> Evidence) to diagnose "
                               f"from; it has {sum(len(patient[k]) for k in RELATION_SECTIONS.values())} other "
                               "records", "findings")
        return age, props.get("sex"), codes

    def export(self, patient_id: str, audit: list[dict[str, Any]]) -> dict[str, Any]:
        """Everything stored about the patient: node, relationships with their targets, audit entries."""
        node, rels = self._records(patient_id)
        return {"format": "medkg-patient-export/1", "patient": {"id": node["id"], "labels": ["Patient"],
                                                                "properties": serialize.properties(node)},
                "relationships": [{"type": r["type"], "direction": r["direction"],
                                   "properties": serialize.properties(r["properties"]),
                                   "target": _target(r["target"], full=True)} for r in rels],
                "audit": audit}

    # ----- delete ---------------------------------------------------------------------------------
    def delete(self, patient_id: str) -> dict[str, int]:
        """DETACH DELETE the patient and its images (with their embeddings) not shared with another patient."""
        self.check_id(patient_id)

        def work(tx: ManagedTransaction) -> dict[str, int] | None:
            rec = tx.run("""
                MATCH (p:Patient {id: $id})
                RETURN COUNT { (p)-[]-() } AS rels,
                       [(p)-[:HAS_IMAGE]->(i) WHERE NOT EXISTS { (i)<-[:HAS_IMAGE]-(o:Patient) WHERE o <> p }
                        | elementId(i)] AS images""", id=patient_id).single()
            if rec is None:
                return None
            tx.run("MATCH (i) WHERE elementId(i) IN $ids DETACH DELETE i", ids=rec["images"]).consume()
            tx.run("MATCH (p:Patient {id: $id}) DETACH DELETE p", id=patient_id).consume()
            return {"relationships": rec["rels"], "images": len(rec["images"])}

        counts = self._write(work)
        if counts is None:
            raise NotFound(f"no patient with id {patient_id!r}")
        return counts
