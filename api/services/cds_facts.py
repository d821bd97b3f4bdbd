"""The graph facts a CDS call needs besides interactions, held in memory per build (one read, well under 1 s):
non-indications (PharmacotherapyDB NOT_INDICATED_FOR), Synthea condition codes mapped to diseases, disease
names, and pharmacologic classes per drug."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from neo4j import Driver

from api.services.db import run_read
from api.services.memory import keep_long_lived
from kg.resolve.normalise import normalise

Q_NOT_INDICATED = """
MATCH (d:Drug)-[r:NOT_INDICATED_FOR]->(dis:Disease)
RETURN d.id AS drug, dis.id AS disease, dis.name AS name, coalesce(r.source, head(r.sources)) AS source,
       coalesce(r.license, head(r.licenses)) AS license"""
Q_CONDITIONS = """
MATCH (c:Condition)-[:MAPS_TO]->(dis:Disease) RETURN c.id AS code, collect(DISTINCT dis.id) AS diseases"""
Q_DISEASES = "MATCH (dis:Disease) RETURN dis.id AS id, dis.name AS name"
Q_CLASSES = """
MATCH (pc:PharmacologicClass)-[:INCLUDES]->(d:Drug)
RETURN d.id AS drug, collect({id: pc.id, name: pc.name}) AS classes"""


@dataclass
class ClinicalFacts:
    build_id: str | None
    not_indicated: dict[str, list[dict]] = field(default_factory=dict)  # drug id -> [{disease, name, source, ..}]
    condition_diseases: dict[str, list[str]] = field(default_factory=dict)  # SNOMED code -> disease ids
    disease_names: dict[str, str] = field(default_factory=dict)  # normalised name -> disease id
    disease_name_of: dict[str, str] = field(default_factory=dict)  # disease id -> name
    classes: dict[str, list[dict]] = field(default_factory=dict)  # drug id -> [{id, name}]

    def diseases_of(self, snomed_codes: list[str], names: list[str]) -> list[str]:
        """Disease ids a patient condition maps to: its SNOMED codes through MAPS_TO, else an exact disease name."""
        out: list[str] = []
        for code in snomed_codes:
            out.extend(d for d in self.condition_diseases.get(code, []) if d not in out)
        if not out:
            for name in names:
                hit = self.disease_names.get(normalise(name))
                if hit and hit not in out:
                    out.append(hit)
        return out


def load_facts(driver: Driver, database: str, build_id: str | None) -> ClinicalFacts:
    facts = ClinicalFacts(build_id)
    for row in run_read(driver, database, Q_NOT_INDICATED, {}):
        facts.not_indicated.setdefault(row["drug"], []).append(
            {"disease": row["disease"], "name": row["name"], "source": row["source"], "license": row["license"]})
    for row in run_read(driver, database, Q_CONDITIONS, {}):
        facts.condition_diseases[str(row["code"])] = sorted(row["diseases"])
    for row in run_read(driver, database, Q_DISEASES, {}):
        if row["name"]:
            facts.disease_names.setdefault(normalise(row["name"]), row["id"])
            facts.disease_name_of[row["id"]] = row["name"]
    for row in run_read(driver, database, Q_CLASSES, {}):
        facts.classes[row["drug"]] = sorted(row["classes"], key=lambda c: c["id"])
    return facts


class FactsCache:
    """One ClinicalFacts per build id; reloaded when the newest build changes."""

    def __init__(self, driver: Driver, database: str) -> None:
        self.driver, self.database = driver, database
        self._facts: ClinicalFacts | None = None
        self._lock = threading.Lock()

    def peek(self, build_id: str | None) -> ClinicalFacts | None:
        """The facts of `build_id` if loaded (never queries)."""
        facts = self._facts
        return facts if facts is not None and facts.build_id == build_id else None

    def get(self, build_id: str | None) -> ClinicalFacts:
        facts = self._facts
        if facts is not None and facts.build_id == build_id:
            return facts
        with self._lock:
            if self._facts is None or self._facts.build_id != build_id:
                self._facts = load_facts(self.driver, self.database, build_id)
                keep_long_lived()
            return self._facts
