"""Parse a patient's findings: DDXPlus evidence codes with values, plus optional symptom names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gnn.diagnosis.knowledge import Knowledge
from kg.errors import InvalidInput

SEP = "_@_"
_TRUE = {"1", "true", "yes", "y"}
_SEX = {"m": "M", "male": "M", "man": "M", "f": "F", "female": "F", "woman": "F"}
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Finding:
    """One reported evidence: `E_54` with value `V_161` is token `E_54_@_V_161`; binary ones have no value."""

    evidence: str
    value: str | None
    default: bool = field(default=False, compare=False)  # the value is the question's default ("no", "nowhere")

    @property
    def token(self) -> str:
        return self.evidence if self.value is None else f"{self.evidence}{SEP}{self.value}"


@dataclass
class Patient:
    """Age, sex ("M"/"F"), the recognised findings and the inputs that matched nothing."""

    age: int
    sex: str
    findings: list[Finding]
    unrecognised: list[str] = field(default_factory=list)

    @property
    def evidences(self) -> set[str]:
        """Evidence codes answered (DDXPlus records the answers to a pathology's questions, defaults included)."""
        return {f.evidence for f in self.findings}

    @property
    def tokens(self) -> list[str]:
        return [f.token for f in self.findings]


def _canon_value(raw: str) -> str:
    raw = raw.strip()
    try:
        num = float(raw)
    except ValueError:
        return raw
    return str(int(num)) if num.is_integer() else raw


def parse_finding(text: str, kb: Knowledge) -> Finding | None:
    """A Finding for a code like `E_91`, `E_54_@_V_161`, `E_56_@_2`; None when it is not in DDXPlus."""
    text = str(text).strip()
    code, _, raw_value = text.partition(SEP)
    code = code.strip().upper()
    info = kb.evidences.get(code)
    if info is None:
        return None
    if not raw_value:
        return Finding(code, None)
    value = _canon_value(raw_value)
    if info.data_type == "B":
        return Finding(code, None) if value.lower() in _TRUE else None
    if value not in info.possible_values:
        value = value.upper()
        if value not in info.possible_values:
            return None
    return Finding(code, value, default=value == info.default_value)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def match_symptom(name: str, kb: Knowledge) -> Finding | None:
    """The binary evidence whose English question names `name` (all its words, shortest question wins)."""
    words = _words(name)
    if not words:
        return None
    direct = parse_finding(name, kb)
    if direct is not None:
        return direct
    best: tuple[int, str] | None = None
    for code, info in kb.evidences.items():
        if info.data_type != "B":
            continue
        q = _words(info.question)
        n = len(words)
        if any(q[i : i + n] == words for i in range(len(q) - n + 1)) and (best is None or len(q) < best[0]):
            best = (len(q), code)
    return Finding(best[1], None) if best else None


def parse_age(value: object, field_name: str = "age") -> int:
    try:
        age = float(str(value).strip())
    except ValueError as exc:
        raise InvalidInput(f"{field_name}: {value!r} is not a number", field=field_name) from exc
    if not 0 <= age <= 130:
        raise InvalidInput(f"{field_name}: {value!r} is outside 0-130", field=field_name)
    return int(age)


def parse_sex(value: object, field_name: str = "sex") -> str:
    sex = _SEX.get(str(value).strip().lower())
    if sex is None:
        raise InvalidInput(f"{field_name}: {value!r} is not M or F", field=field_name)
    return sex


def parse_patient(
    age: object, sex: object, findings: list[str], kb: Knowledge, symptom_names: list[str] | None = None
) -> Patient:
    """Validate and parse one patient; unknown codes are kept in `unrecognised`, never dropped silently."""
    if isinstance(findings, str):
        raise InvalidInput("findings: expected a list of evidence codes, got a string", field="findings")
    if not findings and not symptom_names:
        raise InvalidInput("findings: empty; give at least one DDXPlus evidence code (e.g. E_91)", field="findings")
    parsed: list[Finding] = []
    seen: set[str] = set()
    unrecognised: list[str] = []
    items = [(str(f), parse_finding(str(f), kb)) for f in findings]
    items += [(str(s), match_symptom(str(s), kb)) for s in symptom_names or []]
    for text, finding in items:
        if finding is None:
            unrecognised.append(text)
        elif finding.token not in seen:
            seen.add(finding.token)
            parsed.append(finding)
    return Patient(age=parse_age(age), sex=parse_sex(sex), findings=parsed, unrecognised=unrecognised)
