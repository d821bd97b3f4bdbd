"""FHIR R4 helpers shared by the CDS Hooks service, the Bundle import and the export.

Models: `fhir.resources.R4B` (FHIR 4.3.0, the maintained R4-compatible models of fhir.resources 8; its top level
is R5). Patient, Condition, MedicationRequest, MedicationStatement, AllergyIntolerance and Bundle have the same
structure in R4 and R4B for every element read or written here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from kg.errors import MedKGError

FHIR_VERSION = "4.0.1"  # what we declare (R4); validated with the R4B models
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
RXNORM_SYSTEMS = frozenset({RXNORM, "urn:oid:2.16.840.1.113883.6.88"})
SNOMED = "http://snomed.info/sct"
SNOMED_SYSTEMS = frozenset({SNOMED, "urn:oid:2.16.840.1.113883.6.96"})
DRUGBANK = "https://go.drugbank.com/drugs"
DRUGBANK_SYSTEMS = frozenset({DRUGBANK, "http://www.drugbank.ca", "https://www.drugbank.ca", "http://drugbank.ca"})
DOID = "http://purl.obolibrary.org/obo/doid.owl"
DDXPLUS = "https://github.com/mila-iqia/ddxplus"


class FhirInvalid(MedKGError, ValueError):
    """A resource or element that does not validate: the JSON path and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def model(resource_type: str) -> type:
    """The R4B model class of a resource or element type (raises KeyError for an unknown type)."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validation_reason(exc: ValidationError, prefix: str) -> FhirInvalid:
    """The first error of a pydantic ValidationError as (path under `prefix`, message with the bad value)."""
    err = exc.errors()[0]
    value = err.get("input")
    shown = repr(value) if isinstance(value, str | int | float | bool) or value is None else type(value).__name__
    return FhirInvalid(prefix + _loc(tuple(err.get("loc", ()))), f"{err.get('msg', 'invalid')} (got {shown})")


def validate(resource: Any, path: str, type_name: str | None = None) -> Any:
    """Validate a resource (or an element of `type_name`) with its R4B model; FhirInvalid names path and reason."""
    if not isinstance(resource, dict):
        raise FhirInvalid(path, f"expected a JSON object, got {type(resource).__name__}")
    name = type_name or resource.get("resourceType")
    if not isinstance(name, str) or not name:
        raise FhirInvalid(f"{path}.resourceType", "missing")
    try:
        cls = model(name)
    except (KeyError, ValueError, AttributeError) as exc:
        raise FhirInvalid(f"{path}.resourceType", f"{name!r} is not a FHIR R4 resource type") from exc
    try:
        return cls.model_validate(resource)
    except ValidationError as exc:
        raise validation_reason(exc, path) from exc


def validate_elements(resource: dict[str, Any], path: str, elements: dict[str, str]) -> None:
    """Validate only the listed elements (name -> FHIR type) of a resource; absent ones are skipped.

    The CDS service checks what it reads, not the whole order: the order-select example of the CDS Hooks
    specification itself carries `dosageInstruction[0].doseAndRate` as an object where R4 has an array."""
    for name, type_name in elements.items():
        if name not in resource:
            continue
        value = resource[name]
        if type_name == "code":
            if not isinstance(value, str) or not value.strip():
                raise FhirInvalid(f"{path}.{name}", f"expected a code (non-empty string), got {value!r}")
            continue
        validate(value, f"{path}.{name}", type_name)


@dataclass(frozen=True)
class Coding:
    system: str | None
    code: str | None
    display: str | None


def codings(concept: Any) -> list[Coding]:
    """The codings of a CodeableConcept given as JSON (tolerant of absent parts)."""
    if not isinstance(concept, dict):
        return []
    return [Coding(c.get("system"), str(c["code"]) if c.get("code") is not None else None, c.get("display"))
            for c in concept.get("coding") or [] if isinstance(c, dict)]


def concept_texts(concept: Any) -> list[str]:
    """Human-readable names of a concept: its text, then each coding's display (deduplicated, in order)."""
    if not isinstance(concept, dict):
        return []
    out: list[str] = []
    for text in [concept.get("text"), *[c.display for c in codings(concept)]]:
        if isinstance(text, str) and text.strip() and text.strip() not in out:
            out.append(text.strip())
    return out


def concept_label(concept: Any) -> str:
    texts = concept_texts(concept)
    if texts:
        return texts[0]
    codes = [f"{c.system or '?'}|{c.code}" for c in codings(concept) if c.code]
    return codes[0] if codes else "(no code or text)"


def status_code(resource: dict[str, Any], element: str) -> str | None:
    """`clinicalStatus` / `verificationStatus` code of a Condition or AllergyIntolerance (None when absent)."""
    for c in codings(resource.get(element)):
        if c.code:
            return c.code
    return None


def bundle_resources(bundle: Any, path: str) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    """(index, resource, fullUrl) for each entry of a Bundle given as JSON; the Bundle's shape is checked."""
    if not isinstance(bundle, dict):
        raise FhirInvalid(path, f"expected a Bundle object, got {type(bundle).__name__}")
    if bundle.get("resourceType") != "Bundle":
        raise FhirInvalid(f"{path}.resourceType", f"expected 'Bundle', got {bundle.get('resourceType')!r}")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirInvalid(f"{path}.entry", f"expected an array, got {type(entries).__name__}")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            raise FhirInvalid(f"{path}.entry[{i}].resource", "missing (every entry needs a resource object)")
        yield i, entry["resource"], entry.get("fullUrl")
