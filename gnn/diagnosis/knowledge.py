"""The DDXPlus knowledge: pathologies, evidences and the pathology→evidence links the graph stores."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kg.errors import SourceDataError
from kg.settings import get_settings

# Weight of a HAS_SYMPTOM / HAS_ANTECEDENT link when the graph carries no explicit one.
SYMPTOM_WEIGHT = 1.0
ANTECEDENT_WEIGHT = 1.0


@dataclass(frozen=True)
class EvidenceInfo:
    """One DDXPlus evidence (question): B binary, C categorical/numeric, M multi-choice."""

    code: str
    question: str
    data_type: str
    possible_values: tuple[str, ...]
    default_value: str
    value_meaning: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    is_antecedent: bool = False


@dataclass(frozen=True)
class Knowledge:
    """Pathologies (sorted names), their metadata, evidences and links {pathology: {evidence: weight}}."""

    pathologies: tuple[str, ...]
    links: dict[str, dict[str, float]]
    evidences: dict[str, EvidenceInfo]
    icd10: dict[str, str]
    severity: dict[str, int]

    @property
    def index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.pathologies)}


def ddxplus_dir(data_dir: Path | None = None) -> Path:
    return (data_dir or get_settings().medkg_data_dir) / "ddxplus"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourceDataError(f"missing DDXPlus file {path} (set MEDKG_DATA_DIR)") from exc
    except json.JSONDecodeError as exc:
        raise SourceDataError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from exc


def links_from_conditions(conditions: dict) -> dict[str, dict[str, float]]:
    """{pathology: {evidence: weight}} from release_conditions.json (symptoms and antecedents)."""
    links: dict[str, dict[str, float]] = {}
    for name, cond in conditions.items():
        row = {e: SYMPTOM_WEIGHT for e in cond.get("symptoms", {})}
        for e in cond.get("antecedents", {}):
            row.setdefault(e, ANTECEDENT_WEIGHT)
        links[name] = row
    return links


def _evidence(code: str, raw: dict) -> EvidenceInfo:
    meaning = {str(k): v.get("en", "") for k, v in (raw.get("value_meaning") or {}).items()}
    return EvidenceInfo(
        code=code,
        question=raw.get("question_en", ""),
        data_type=raw.get("data_type", "B"),
        possible_values=tuple(str(v) for v in raw.get("possible-values", raw.get("possible_values", []))),
        default_value=str(raw.get("default_value", "")),
        value_meaning=meaning,
        is_antecedent=bool(raw.get("is_antecedent", False)),
    )


def load_knowledge(data_dir: Path | None = None) -> Knowledge:
    """Read release_conditions.json and release_evidences.json."""
    folder = ddxplus_dir(data_dir)
    conditions = _read_json(folder / "release_conditions.json")
    evidences = _read_json(folder / "release_evidences.json")
    names = tuple(sorted(conditions))
    return Knowledge(
        pathologies=names,
        links=links_from_conditions(conditions),
        evidences={code: _evidence(code, raw) for code, raw in evidences.items()},
        icd10={n: conditions[n].get("icd10-id", "") for n in names},
        severity={n: int(conditions[n].get("severity", 0)) for n in names},
    )


@lru_cache(maxsize=4)
def default_knowledge(data_dir: Path | None = None) -> Knowledge:
    """Cached knowledge for the configured data folder."""
    return load_knowledge(data_dir)
