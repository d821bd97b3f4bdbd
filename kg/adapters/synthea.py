"""Synthea patients, de-identified on load.

Stored: a pseudonymous id (keyed HMAC of the source id), a 10-year age band, sex, race, ethnicity,
deceased flag; conditions (SNOMED CT), medications (RxNorm, resolved to DrugBank ingredients) and
allergies with years only. Never stored: names, addresses, SSN, driver's licence, passport, exact
dates of birth or death, coordinates, incomes, encounter ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import date
from pathlib import Path

from kg.adapters.io import read_table
from kg.adapters.resolvers import ResolutionTally, disease_resolver, drug_resolver
from kg.records import GraphBatch
from kg.settings import get_settings

SOURCE = "synthea"
PATIENTS = "synthea-sample/patients.csv"
CONDITIONS = "synthea-sample/conditions.csv"
MEDICATIONS = "synthea-sample/medications.csv"
ALLERGIES = "synthea-sample/allergies.csv"
ENCOUNTERS = "synthea-sample/encounters.csv"
FILES = [PATIENTS, CONDITIONS, MEDICATIONS, ALLERGIES, ENCOUNTERS]


def pseudonym_key() -> bytes:
    """The HMAC key for pseudonyms: MEDKG_PSEUDONYM_KEY, else one generated once and stored 0600."""
    env = os.environ.get("MEDKG_PSEUDONYM_KEY")
    if env:
        return env.encode()
    path = get_settings().medkg_home / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def pseudonymise(source_id: str, key: bytes) -> str:
    return "P-" + hmac.new(key, source_id.encode(), hashlib.sha256).hexdigest()[:16]


def age_band(birth: date, on: date) -> str:
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if age >= 90:
        return "90+"
    low = (age // 10) * 10
    return f"{low}-{low + 9}"


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _reference_date(batch: GraphBatch) -> date:
    """The data set's 'today': its latest encounter, so age bands do not drift with the clock."""
    latest = date(1900, 1, 1)
    for _, row in read_table(batch.data_dir / ENCOUNTERS, batch, SOURCE, ["START"], delimiter=","):
        d = _date(row["START"])
        if d and d > latest:
            latest = d
    return latest


def load(batch: GraphBatch) -> None:
    key = pseudonym_key()
    ref = _reference_date(batch)
    pids = _patients(batch, key, ref)
    _conditions(batch, pids)
    _medications(batch, pids)
    _allergies(batch, pids)


def _patients(batch: GraphBatch, key: bytes, ref: date) -> dict[str, str]:
    path = batch.data_dir / PATIENTS
    out: dict[str, str] = {}
    for line, row in read_table(path, batch, SOURCE, ["Id", "BIRTHDATE", "GENDER"], delimiter=","):
        birth = _date(row["BIRTHDATE"])
        if birth is None:
            batch.reject(path, line, f"field BIRTHDATE has invalid date {row['BIRTHDATE']!r}", SOURCE)
            continue
        death = _date(row.get("DEATHDATE", ""))
        pid = pseudonymise(row["Id"], key)
        if batch.add_node("Patient", pid, {
            "age_band": age_band(birth, death or ref), "sex": row["GENDER"], "race": row.get("RACE"),
            "ethnicity": row.get("ETHNICITY"), "deceased": death is not None, "origin": "synthea",
        }, SOURCE, file=path, line=line):
            out[row["Id"]] = pid
    return out


def _episodes(batch: GraphBatch, path: Path, pids: dict[str, str]) -> dict[tuple[str, str], dict]:
    """Aggregate rows per (patient, code): first year, active/current, number of episodes."""
    agg: dict[tuple[str, str], dict] = {}
    for line, row in read_table(path, batch, SOURCE, ["START", "STOP", "PATIENT", "CODE", "DESCRIPTION"],
                                delimiter=","):
        pid = pids.get(row["PATIENT"])
        if pid is None:
            batch.reject(path, line, f"field PATIENT refers to unknown patient {row['PATIENT'][:8]}…", SOURCE)
            continue
        code = row["CODE"].strip()
        if not code.isdigit():
            batch.reject(path, line, f"field CODE is not a numeric code: {code!r}", SOURCE)
            continue
        start = _date(row["START"])
        entry = agg.setdefault((pid, code), {"name": row["DESCRIPTION"], "first_year": None, "current": False,
                                             "episodes": 0, "file": path, "line": line})
        entry["episodes"] += 1
        entry["current"] = entry["current"] or not row["STOP"]
        if start and (entry["first_year"] is None or start.year < entry["first_year"]):
            entry["first_year"] = start.year
    return agg


def _conditions(batch: GraphBatch, pids: dict[str, str]) -> None:
    resolver = disease_resolver(batch.data_dir)
    tally = ResolutionTally(batch, "synthea-conditions")
    seen: set[str] = set()
    for (pid, code), e in _episodes(batch, batch.data_dir / CONDITIONS, pids).items():
        if code not in seen:
            seen.add(code)
            batch.add_node("Condition", code, {"name": e["name"]}, SOURCE,
                           file=e["file"], line=e["line"])
            res = resolver.match_xref(f"SNOMEDCT:{code}").resolution or resolver.resolve(e["name"])
            if res is not None:
                tally.resolved(res.method)
                batch.add_edge("MAPS_TO", ("Condition", code), ("Disease", res.id),
                               {"method": res.method, "score": res.score}, "medkg")
            else:
                tally.unresolved(e["name"])
        batch.add_edge("HAS_CONDITION", ("Patient", pid), ("Condition", code),
                       {"first_year": e["first_year"], "active": e["current"], "episodes": e["episodes"]}, SOURCE)
    tally.finish()


def _medications(batch: GraphBatch, pids: dict[str, str]) -> None:
    resolver = drug_resolver(batch.data_dir)
    tally = ResolutionTally(batch, "synthea-medications")
    seen: set[str] = set()
    for (pid, code), e in _episodes(batch, batch.data_dir / MEDICATIONS, pids).items():
        if code not in seen:
            seen.add(code)
            batch.add_node("Medication", code, {"name": e["name"]}, SOURCE,
                           file=e["file"], line=e["line"])
            results = resolver.resolve_product(e["name"])
            if results and all(r is not None for r in results):
                tally.resolved(",".join(sorted({r.method for r in results if r})))
            else:
                tally.unresolved(e["name"])
            for res in results:
                if res is not None:
                    batch.add_edge("CONTAINS", ("Medication", code), ("Drug", res.id),
                                   {"method": res.method, "matched_name": res.matched_name}, "medkg")
        batch.add_edge("TAKES", ("Patient", pid), ("Medication", code),
                       {"first_year": e["first_year"], "current": e["current"], "episodes": e["episodes"]}, SOURCE)
    tally.finish()


def _allergies(batch: GraphBatch, pids: dict[str, str]) -> None:
    for (pid, code), e in _episodes(batch, batch.data_dir / ALLERGIES, pids).items():
        batch.add_node("Condition", code, {"name": e["name"]}, SOURCE,
                       file=e["file"], line=e["line"])
        batch.add_edge("ALLERGIC_TO", ("Patient", pid), ("Condition", code),
                       {"first_year": e["first_year"], "active": e["current"]}, SOURCE)
