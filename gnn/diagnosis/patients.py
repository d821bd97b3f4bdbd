"""Read DDXPlus patient CSVs (patients_sample.csv layout, or the original release's upper-case columns)."""

from __future__ import annotations

import ast
import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gnn.diagnosis.findings import Patient, parse_age, parse_patient, parse_sex
from gnn.diagnosis.knowledge import Knowledge, ddxplus_dir
from kg.errors import InvalidInput, SourceDataError

# Accepted column names, first match wins (case-insensitive).
COLUMNS = {
    "age": ("age",),
    "sex": ("sex",),
    "features": ("features", "evidences"),
    "initial": ("feature_id", "initial_evidence"),
    "pathology": ("diagnosis", "pathology"),
    "differential": ("top5_diagnoses", "differential_diagnosis"),
}


@dataclass
class PatientRow:
    """One CSV row: the parsed patient, its line, (when present) the true pathology and differential."""

    line: int
    patient: Patient
    pathology: str | None = None
    differential: list[tuple[str, float]] | None = None
    problems: list[str] = field(default_factory=list)  # lenient reading: what was wrong with the row
    missing: tuple[str, ...] = ()  # lenient reading: "age"/"sex" unreadable, left None in `patient`


def sample_path(data_dir: Path | None = None) -> Path:
    return ddxplus_dir(data_dir) / "patients_sample.csv"


def parse_list(text: str) -> list:
    """A Python-literal or JSON list; a bare string of codes split on commas, semicolons or spaces."""
    text = (text or "").strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = json.loads(text)
        if not isinstance(value, list | tuple):
            raise ValueError("not a list")
        return list(value)
    return [t for t in text.replace(";", " ").replace(",", " ").split() if t]


def _columns(header: list[str]) -> dict[str, str]:
    lower = {h.strip().lower(): h for h in header}
    found = {}
    for key, names in COLUMNS.items():
        for n in names:
            if n in lower:
                found[key] = lower[n]
                break
    return found


def _bad(path: Path, line: int, field: str, value: object, why: str) -> InvalidInput:
    shown = str(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return InvalidInput(f"{path}: line {line}: field {field!r}: {why} (value {shown!r})", field=field)


def _differential(raw: str, kb: Knowledge) -> list[tuple[str, float]]:
    pairs = [(str(n), float(p)) for n, p in parse_list(raw)]
    unknown = [n for n, _ in pairs if n not in kb.links]
    if unknown:
        raise ValueError(f"unknown pathologies {unknown}")
    return pairs


def _read_labels(row: PatientRow, rec: dict, cols: dict[str, str], kb: Knowledge, path: Path) -> None:
    line = row.line
    if "pathology" in cols and rec.get(cols["pathology"]):
        row.pathology = rec[cols["pathology"]].strip()
        if row.pathology not in kb.links:
            raise _bad(path, line, cols["pathology"], row.pathology, "unknown pathology")
    if "differential" in cols and rec.get(cols["differential"]):
        try:
            row.differential = _differential(rec[cols["differential"]], kb)
        except (ValueError, SyntaxError, TypeError) as exc:
            raise _bad(path, line, cols["differential"], rec[cols["differential"]], str(exc)) from exc
    if row.pathology is None or not row.differential:
        raise _bad(path, line, cols.get("pathology", "diagnosis"), rec.get(cols.get("pathology", "")),
                   "label missing")


_CODE = re.compile(r"E_\d+(?:_@_[A-Za-z0-9_.\-]+)?", re.IGNORECASE)


def _salvage_codes(raw: str) -> list[str]:
    """Evidence-code-like tokens found anywhere in an unparseable feature cell (best effort)."""
    return [m.group(0) for m in _CODE.finditer(raw or "")]


def _parse_row(rec: dict, line: int, cols: dict[str, str], kb: Knowledge, path: Path, require_labels: bool,
               lenient: bool) -> PatientRow:
    """One CSV record; strict mode raises on the first problem, lenient mode records it in `problems`."""
    problems: list[str] = []
    missing: list[str] = []

    def problem(field: str, value: object, why: str, then: str = "") -> None:
        if not lenient:
            raise _bad(path, line, field, value, why)
        problems.append(str(_bad(path, line, field, value, why + then)))

    raw = rec.get(cols["features"]) or ""
    try:
        findings = [str(f) for f in parse_list(raw)]
    except (ValueError, SyntaxError, TypeError) as exc:
        if not lenient:
            raise _bad(path, line, cols["features"], raw, "not a list of evidence codes") from exc
        findings = _salvage_codes(raw)
        problem(cols["features"], raw, f"not a list of evidence codes; read {len(findings)} code(s) from it")
    initial = (rec.get(cols["initial"]) or "").strip() if "initial" in cols else ""
    if initial and initial not in findings:
        findings.insert(0, initial)
    if not findings:
        problem(cols["features"], raw, "no findings")
    age: object = rec.get(cols["age"])
    try:
        parse_age(age)
    except InvalidInput as exc:
        problem(cols["age"], age, str(exc), "; age treated as missing")
        age, missing = 30, [*missing, "age"]  # placeholder, replaced by None below
    sex: object = rec.get(cols["sex"])
    try:
        parse_sex(sex)
    except InvalidInput as exc:
        problem(cols["sex"], sex, str(exc), "; sex treated as missing")
        sex, missing = "M", [*missing, "sex"]
    if findings:
        patient = parse_patient(age, sex, findings, kb)
    else:  # lenient and nothing to read: score the patient on age and sex alone
        patient = Patient(age=parse_age(age), sex=parse_sex(sex), findings=[], unrecognised=[raw] if raw else [])
    if "age" in missing:
        patient.age = None  # type: ignore[assignment]  # see PatientRow.missing
    if "sex" in missing:
        patient.sex = None  # type: ignore[assignment]
    row = PatientRow(line=line, patient=patient, problems=problems, missing=tuple(missing))
    if require_labels:
        _read_labels(row, rec, cols, kb, path)
    else:  # scoring: label columns are optional extras, read when well-formed, else ignored
        try:
            _read_labels(row, rec, cols, kb, path)
        except InvalidInput:
            row.pathology, row.differential = None, None
    return row


def read_patients(path: Path, kb: Knowledge, require_labels: bool = False, lenient: bool = False) -> list[PatientRow]:
    """Every row of `path`, in order; a bad row raises InvalidInput naming file, line, field and value.

    With `require_labels`, the true pathology and the reference differential must be present and valid.
    With `lenient` (scoring only), a malformed row does not stop the read: its problems (same messages) go to
    `PatientRow.problems`, unreadable features are salvaged, a bad age or sex is left missing
    (`PatientRow.missing`), so that there is still one row per input row.
    """
    if lenient and require_labels:
        raise ValueError("lenient reading is for scoring; labelled data is read strictly")
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise SourceDataError(f"no such patient file: {path}") from exc
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    rows: list[PatientRow] = []
    with handle:
        reader = csv.DictReader(handle)
        cols = _columns(reader.fieldnames or [])
        needed = ["age", "sex", "features"] + (["pathology", "differential"] if require_labels else [])
        missing = [k for k in needed if k not in cols]
        if missing:
            raise InvalidInput(f"{path}: line 1: missing column(s) {missing} (have {reader.fieldnames})",
                               field=missing[0])
        for rec in reader:
            rows.append(_parse_row(rec, reader.line_num, cols, kb, path, require_labels, lenient))
    return rows


def variants(row: PatientRow) -> list[Patient]:
    """The patient as scored: itself, or one copy per age band and/or sex for the values it is missing
    (the caller averages their probabilities: the missing value is marginalised, uniformly)."""
    from gnn.diagnosis.vocab import AGE_BINS

    ages = list(AGE_BINS) if "age" in row.missing else [row.patient.age]
    sexes = ["M", "F"] if "sex" in row.missing else [row.patient.sex]
    if len(ages) == len(sexes) == 1:
        return [row.patient]
    p = row.patient
    return [Patient(age=a, sex=s, findings=p.findings, unrecognised=p.unrecognised) for a in ages for s in sexes]
