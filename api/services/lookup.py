"""Names, brands, ids and product descriptions typed by a person -> Drug ids, with suggestions.

DrugBank names and aliases go through `kg.resolve.drugs.DrugResolver` (in memory, typo-tolerant); drugs
only the graph knows (DDInter names that did not resolve, newer DrugBank ids) and Synthea medications come
from the cached GraphIndex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from api.services.graph_index import GraphIndex
from kg.resolve.drugs import DRUGBANK_ID, DrugResolver
from kg.resolve.normalise import normalise

DDINTER_ID = re.compile(r"^(?:ddinter:)?(DDInter\d+)$", re.IGNORECASE)
RXNORM_ID = re.compile(r"^(?:rxnorm:)?(\d{2,9})$", re.IGNORECASE)
PRODUCT_HINT = re.compile(r"\s/\s|\d\s*(?:MG|MCG|ML|UNT|%)\b", re.IGNORECASE)
SUGGESTIONS = 5


@dataclass(frozen=True)
class DrugRef:
    """One resolved drug: id, its own name, the name that matched, how, and a 0-1 confidence."""

    id: str
    name: str
    matched_name: str
    method: str
    score: float

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "matched_name": self.matched_name, "method": self.method,
                "score": round(self.score, 3)}


@dataclass
class EntryMatch:
    """What one entry of a medication list resolved to (several drugs for a combination product)."""

    query: str
    status: str  # resolved | partial | ambiguous | unresolved
    kind: str = "drug"  # drug | product | medication
    drugs: list[DrugRef] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)  # ambiguous: the ids it could mean
    suggestions: list[dict] = field(default_factory=list)  # unresolved (parts): ranked guesses
    unresolved_parts: list[str] = field(default_factory=list)


class DrugLookup:
    """Resolution and search over the DrugBank vocabulary plus the graph-only drugs."""

    def __init__(self, resolver: DrugResolver) -> None:
        self.resolver = resolver

    @property
    def warm(self) -> bool:
        """Whether every lookup runs in memory in milliseconds (the fuzzy matcher is built)."""
        return self.resolver.index.fuzzy_ready

    def name(self, drug_id: str, index: GraphIndex | None = None) -> str:
        known = self.resolver.name(drug_id)
        if known:
            return known
        if index is not None and drug_id in index.graph_drugs:
            return index.graph_drugs[drug_id].name
        return drug_id

    def _ref(self, drug_id: str, matched: str, method: str, score: float, index: GraphIndex | None) -> DrugRef:
        return DrugRef(drug_id, self.name(drug_id, index), matched, method, score)

    def _graph_match(self, text: str, index: GraphIndex | None) -> DrugRef | None:
        if index is None:
            return None
        found = DDINTER_ID.match(text) or DRUGBANK_ID.match(text)
        if found:
            wanted = found.group(1)
            for drug_id in (wanted, wanted.upper(), "DDInter" + wanted[7:]):
                if drug_id in index.graph_drugs:
                    return self._ref(drug_id, drug_id, "id", 1.0, index)
            return None
        ids = index.graph_names.get(normalise(text), [])
        if len(ids) == 1:
            return self._ref(ids[0], index.graph_drugs[ids[0]].name, "exact", 1.0, index)
        return None

    def resolve(self, text: str, index: GraphIndex | None = None) -> EntryMatch:
        """One entry: a DrugBank/DDInter id, a name, synonym or brand, a product description or an RxNorm code."""
        text = text.strip()
        if RXNORM_ID.match(text):  # a code is no name: skip the (fuzzy) name match, ~3 ms per entry
            medication = self._medication(text, index)
            if medication is not None:
                return medication
        match = self.resolver.match(text)
        if match.resolution is not None:
            r = match.resolution
            return EntryMatch(text, "resolved", drugs=[self._ref(r.id, r.matched_name, r.method, r.score, index)])
        graph = self._graph_match(text, index)
        if graph is not None:
            return EntryMatch(text, "resolved", drugs=[graph])
        if match.ambiguous:
            return EntryMatch(text, "ambiguous", candidates=[
                {"id": i, "name": self.name(i, index), "matched_name": text, "score": 1.0}
                for i in match.ambiguous])
        medication = self._medication(text, index)
        if medication is not None:
            return medication
        if PRODUCT_HINT.search(text):
            product = self._product(text, index)
            if product is not None:
                return product
        return EntryMatch(text, "unresolved", suggestions=self.suggest(text, SUGGESTIONS, index))

    def _medication(self, text: str, index: GraphIndex | None) -> EntryMatch | None:
        if index is None:
            return None
        found = RXNORM_ID.match(text)
        rxnorm = found.group(1) if found else index.medication_names.get(normalise(text))
        if rxnorm is None or rxnorm not in index.medications:
            return None
        name, drug_ids = index.medications[rxnorm]
        if not drug_ids:
            return None
        refs = [self._ref(d, name, "medication", 1.0, index) for d in drug_ids]
        return EntryMatch(text, "resolved", kind="medication", drugs=refs)

    def _product(self, text: str, index: GraphIndex | None) -> EntryMatch | None:
        matches = self.resolver.match_product(text)
        refs = [self._ref(m.resolution.id, m.resolution.matched_name, m.resolution.method, m.resolution.score,
                          index) for m in matches if m.resolution is not None]
        if not refs:
            return None
        missing = [m.query for m in matches if m.resolution is None]
        entry = EntryMatch(text, "partial" if missing else "resolved", kind="product", drugs=refs,
                           unresolved_parts=missing)
        for part in missing:
            entry.suggestions.extend(self.suggest(part, 3, index))
        return entry

    def suggest(self, text: str, k: int = SUGGESTIONS, index: GraphIndex | None = None) -> list[dict]:
        """Ranked typo-tolerant candidates (score 0-1), DrugBank vocabulary and graph-only drugs together."""
        out = {s.id: {"id": s.id, "name": s.name, "matched_name": s.matched_name, "score": round(s.score / 100, 3)}
               for s in self.resolver.suggest(text, k=k)}
        if index is not None and index.graph_names:
            key = normalise(text)
            for name_key, score, _ in process.extract(key, list(index.graph_names), scorer=fuzz.ratio, limit=k,
                                                      score_cutoff=60):
                for drug_id in index.graph_names[name_key]:
                    if drug_id not in out or out[drug_id]["score"] < score / 100:
                        drug = index.graph_drugs[drug_id]
                        out[drug_id] = {"id": drug_id, "name": drug.name, "matched_name": drug.name,
                                        "score": round(score / 100, 3)}
        return sorted(out.values(), key=lambda s: (-s["score"], s["name"]))[:k]

    def search(self, text: str, limit: int, index: GraphIndex | None = None) -> list[dict]:
        """Ranked candidates for a search box: the exact resolution first, then typo-tolerant guesses."""
        entry = self.resolve(text, index)
        ranked: dict[str, dict] = {}
        for ref in entry.drugs:
            ranked[ref.id] = ref.to_dict()
        for cand in entry.candidates:
            ranked.setdefault(cand["id"], {**cand, "method": "ambiguous"})
        for sug in self.suggest(text, limit, index):
            ranked.setdefault(sug["id"], {**sug, "method": "fuzzy"})
        return sorted(ranked.values(), key=lambda c: -c["score"])[:limit]
