"""Disease Ontology (HumanDO.obo) terms and the resolver from names, DOIDs and xrefs to DOIDs."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kg.resolve.index import SCORES, Match, NameIndex, Resolution, Suggestion
from kg.resolve.normalise import normalise, strip_qualifiers, strip_semantic_tag, word_set
from kg.resolve.sources import bad_value, read_rows, require

DOID = re.compile(r"^DOID:\d+$")
_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"\s*([A-Z]+)?')
# OBO xref prefixes -> the CURIE prefixes the graph uses.
XREF_PREFIX = {"MSH": "MESH", "MESH": "MESH", "UMLS_CUI": "UMLS_CUI", "UMLS": "UMLS_CUI", "ICD10CM": "ICD10CM",
               "ICD10": "ICD10CM", "ICD9CM": "ICD9CM", "ICD9": "ICD9CM", "OMIM": "OMIM", "NCI": "NCI",
               "ORDO": "ORDO", "EFO": "EFO", "HP": "HP"}


# Clinical abbreviations used as whole names (DDXPlus, Synthea) -> names the Disease Ontology knows.
ABBREVIATIONS = {
    "sle": "systemic lupus erythematosus",
    "psvt": "paroxysmal supraventricular tachycardia",
    "urti": "upper respiratory tract infection",
    "copd": "chronic obstructive pulmonary disease",
    "stemi": "acute myocardial infarction",
    "nstemi": "acute myocardial infarction",
    "hiv": "HIV infection",
    "uti": "urinary tract infection",
    "chf": "congestive heart failure",
    "gerd": "gastroesophageal reflux disease",
}
# Leading / trailing words whose removal gives a broader disease ("Acute otitis media" -> "otitis media").
BROADER_LEADING = word_set(
    "acute chronic possible suspected spontaneous localized localised stable recurrent viral bacterial allergic "
    "initial severe mild primary simple"
)
BROADER_TRAILING = word_set("exacerbation infection attack reactions reaction symptom disorder")


def normalise_xref(curie: str) -> str:
    """'MSH:D003920' -> 'MESH:D003920', 'SNOMEDCT_2010_1_31:123' -> 'SNOMEDCT:123', 'icd10cm:j18' -> 'ICD10CM:J18'."""
    prefix, _, local = curie.strip().partition(":")
    upper = prefix.upper()
    upper = "SNOMEDCT" if upper.startswith("SNOMEDCT") else XREF_PREFIX.get(upper, upper)
    local = local.strip()
    if upper in {"ICD10CM", "ICD9CM", "MESH", "UMLS_CUI"}:
        local = local.upper()
    return f"{upper}:{local}"


@dataclass
class DiseaseTerm:
    """One [Term] stanza of the Disease Ontology."""

    id: str
    name: str = ""
    definition: str = ""
    synonyms: list[str] = field(default_factory=list)  # EXACT synonyms
    other_synonyms: list[str] = field(default_factory=list)  # RELATED / NARROW / BROAD
    xrefs: list[str] = field(default_factory=list)  # normalised CURIEs
    parents: list[str] = field(default_factory=list)  # IS_A
    alt_ids: list[str] = field(default_factory=list)
    obsolete: bool = False


class DiseaseOntology:
    """Terms of HumanDO.obo keyed by DOID, with the IS_A hierarchy (`parents`)."""

    def __init__(self, terms: dict[str, DiseaseTerm]) -> None:
        self.terms = terms

    @classmethod
    def from_obo(cls, path: Path | str) -> DiseaseOntology:
        path = Path(path)
        terms: dict[str, DiseaseTerm] = {}
        term: DiseaseTerm | None = None
        in_term = False
        with require(path).open(encoding="utf-8") as handle:
            for line_no, raw in enumerate(handle, 1):
                line = raw.strip()
                if line.startswith("["):
                    in_term = line == "[Term]"
                    term = None
                    continue
                if not in_term or not line or line.startswith("!"):
                    continue
                tag, _, value = line.partition(": ")
                value = value.split(" ! ")[0].strip()
                if tag == "id":
                    if not DOID.match(value):
                        raise bad_value(path, line_no, "id", value, "not a DOID")
                    term = terms.setdefault(value, DiseaseTerm(value))
                    continue
                if term is None:
                    raise bad_value(path, line_no, tag, value, "tag before the term's id")
                if tag == "name":
                    term.name = value
                elif tag == "def":
                    found = _QUOTED.match(value)
                    term.definition = found.group(1).replace('\\"', '"') if found else value
                elif tag == "synonym":
                    found = _QUOTED.match(value)
                    if not found:
                        raise bad_value(path, line_no, "synonym", value, "expected a quoted synonym")
                    target = term.synonyms if found.group(2) == "EXACT" else term.other_synonyms
                    target.append(found.group(1))
                elif tag == "xref":
                    term.xrefs.append(normalise_xref(value.split(" ")[0]))
                elif tag == "is_a":
                    term.parents.append(value.split(" ")[0])
                elif tag == "alt_id":
                    term.alt_ids.append(value)
                elif tag == "is_obsolete":
                    term.obsolete = value == "true"
        return cls(terms)

    def __len__(self) -> int:
        return len(self.terms)

    def ancestors(self, doid: str) -> set[str]:
        """Every IS_A ancestor of a term (not the term itself)."""
        seen: set[str] = set()
        stack = list(self.terms[doid].parents) if doid in self.terms else []
        while stack:
            parent = stack.pop()
            if parent not in seen:
                seen.add(parent)
                stack.extend(self.terms[parent].parents if parent in self.terms else [])
        return seen

    def is_a_edges(self) -> list[tuple[str, str]]:
        """(child, parent) pairs between live terms, for the loader's IS_A relationships."""
        return [(t.id, p) for t in self.terms.values() if not t.obsolete for p in t.parents if p in self.terms]


class DiseaseResolver:
    """DOIDs from a DOID, an xref (MESH, UMLS_CUI, ICD10CM, SNOMEDCT, OMIM...), an ICD-10 code or a name."""

    def __init__(self, ontology: DiseaseOntology, hetionet_ids: set[str] | None = None) -> None:
        self.ontology = ontology
        self.hetionet_ids = hetionet_ids if hetionet_ids is not None else set()
        self.index = NameIndex()
        self.alt_ids: dict[str, str] = {}
        self.xrefs: dict[str, set[str]] = defaultdict(set)
        for term in ontology.terms.values():
            for alt in term.alt_ids:
                self.alt_ids[alt] = term.id
            if term.obsolete:
                continue
            self.index.add(term.id, term.name, primary=True)
            self.index.add_many(term.id, term.synonyms)
            for xref in term.xrefs:
                self.xrefs[xref].add(term.id)

    @classmethod
    def from_data_dir(cls, data_dir: Path | str) -> DiseaseResolver:
        data_dir = Path(data_dir)
        ontology = DiseaseOntology.from_obo(data_dir / "ontologies" / "disease-ontology" / "HumanDO.obo")
        hetionet: set[str] = set()
        nodes = data_dir / "hetionet" / "hetionet-v1.0-nodes.tsv"
        resolver = cls(ontology, hetionet)
        if nodes.is_file():
            for _line, row in read_rows(nodes, ("id", "name", "kind"), delimiter="\t"):
                if row["kind"] == "Disease":
                    doid = row["id"].split("::", 1)[1]
                    hetionet.add(doid)
                    resolver.index.add(doid, row["name"])
        return resolver

    def name(self, doid: str) -> str | None:
        term = self.ontology.terms.get(doid)
        return term.name if term else None

    def _choose(self, query: str, ids: set[str], method: str) -> Match:
        """One DOID among several sharing an xref: the Hetionet one, else the common ancestor, else ambiguous."""
        live = {i for i in ids if i in self.ontology.terms and not self.ontology.terms[i].obsolete}
        if not live:
            return Match(query)
        if len(live) > 1 and len(live & self.hetionet_ids) >= 1:
            live = live & self.hetionet_ids
        if len(live) > 1:
            roots = [i for i in live if not (self.ontology.ancestors(i) & live)]
            if len(roots) == 1 and all(roots[0] in self.ontology.ancestors(i) for i in live - {roots[0]}):
                live = set(roots)
        if len(live) > 1:
            return Match(query, ambiguous=tuple(sorted(live)))
        doid = next(iter(live))
        return Match(query, Resolution(doid, self.ontology.terms[doid].name, method, SCORES[method]))

    def match_id(self, doid: str) -> Match:
        doid = doid.strip().upper()
        doid = self.alt_ids.get(doid, doid)
        term = self.ontology.terms.get(doid)
        if term is None:
            return Match(doid)
        return Match(doid, Resolution(doid, term.name, "id", SCORES["id"]))

    def match_xref(self, curie: str) -> Match:
        """'MESH:D003920' (or MSH:), 'UMLS_CUI:C0011849', 'ICD10CM:E11', 'SNOMEDCT:44054006', 'OMIM:...'."""
        key = normalise_xref(curie)
        return self._choose(curie, self.xrefs.get(key, set()), "xref")

    def match_icd10(self, codes: str) -> Match:
        """An ICD-10 code, or several ('j17, j18'): exact xref, then shorter parent codes, then child codes."""
        for code in [c.strip().upper() for c in re.split(r"[,;/]", codes) if c.strip()]:
            found = self.match_xref(f"ICD10CM:{code}")
            if found.resolved or found.ambiguous:
                return found
            shorter = code
            while len(shorter) > 3:
                shorter = shorter[:-1].rstrip(".")
                hit = self.xrefs.get(f"ICD10CM:{shorter}")
                if hit:
                    return self._choose(codes, hit, "xref-prefix")
        return Match(codes)

    def match_pathology(self, name: str, icd10: str | None = None) -> Match:
        """A named condition with an ICD-10 code (DDXPlus): exact code, then name, then broader code or name.

        The 2015 Disease Ontology has ICD10CM xrefs for only ~400 terms (none for J18 pneumonia), so the
        name does most of the work; a code found only by its shorter parent ('I48.91' -> 'I48') comes after it.
        """
        codes = [c.strip().upper() for c in re.split(r"[,;/]", icd10 or "") if c.strip()]
        for code in codes:
            exact = self.match_xref(f"ICD10CM:{code}")
            if exact.resolved:
                return exact
        by_name = self.match(name)
        if by_name.resolved or by_name.ambiguous:
            return by_name
        if icd10:
            by_code = self.match_icd10(icd10)
            if by_code.resolved:
                return by_code
        return by_name

    def _name_variants(self, text: str) -> list[str]:
        """Abbreviation expansions, then '/'-separated alternatives, then names without broad qualifiers."""
        plain = strip_qualifiers(text)
        variants = []
        expanded = ABBREVIATIONS.get(normalise(plain))
        if expanded:
            variants.append(expanded)
        parts = [p.strip() for p in plain.split("/") if p.strip()]
        for part in parts:
            words = part.split()
            while len(words) > 1 and words[0].lower() in BROADER_LEADING:
                words = words[1:]
            while len(words) > 1 and words[-1].lower() in BROADER_TRAILING:
                words = words[:-1]
            for candidate in (part, " ".join(words)):
                expanded = ABBREVIATIONS.get(normalise(candidate))
                variants.extend([candidate, expanded] if expanded else [candidate])
        return [v for v in dict.fromkeys(variants) if normalise(v) != normalise(text)]

    def match_name(self, text: str, fuzzy: bool = False) -> Match:
        """A disease name; if unknown, abbreviation expansions and broader forms (method 'broader')."""
        name = strip_semantic_tag(text)
        found = self.index.lookup(name, fuzzy=False)
        if found.resolved or found.ambiguous:
            return found
        for variant in self._name_variants(name):
            broader = self.index.lookup(variant, fuzzy=False)
            if broader.resolution is not None:
                r = broader.resolution
                return Match(text, Resolution(r.id, r.matched_name, "broader", SCORES["broader"]))
        return self.index.lookup(name, fuzzy=True) if fuzzy else Match(text)

    def match(self, text: str, fuzzy: bool = False) -> Match:
        """A DOID, an xref CURIE or a name ('Acute viral pharyngitis (disorder)' is looked up without its tag)."""
        text = text.strip()
        if DOID.match(text.upper()):
            return self.match_id(text)
        prefix = text.partition(":")[0].upper()
        if ":" in text and (prefix in XREF_PREFIX or prefix.startswith("SNOMEDCT")):
            return self.match_xref(text)
        return self.match_name(text, fuzzy=fuzzy)

    def resolve(self, text: str, fuzzy: bool = False) -> Resolution | None:
        return self.match(text, fuzzy=fuzzy).resolution

    def suggest(self, name: str, k: int = 5) -> list[Suggestion]:
        return self.index.suggest(strip_semantic_tag(name), k=k)
