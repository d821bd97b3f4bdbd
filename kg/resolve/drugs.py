"""Drug names, brands and RxNorm product descriptions -> DrugBank ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kg.resolve.index import SCORES, Match, NameIndex, Resolution, Suggestion
from kg.resolve.normalise import SPECIES_WORDS, normalise
from kg.resolve.sources import bad_value, read_json, read_rows

DRUGBANK_ID = re.compile(r"^(?:drugbank:)?(DB\d{5})$", re.IGNORECASE)

_BRAND = re.compile(r"\[([^\]]+)\]")
_LEADING = re.compile(r"^(?:NDA\d+|Abuse-Deterrent|\d+(?:\.\d+)?\s*(?:HR|ML|ACTUAT|DAY)\b)\s*", re.IGNORECASE)
_STRENGTH = re.compile(r"\s+\d.*$")  # an ingredient ends where its strength starts: "Aspirin 81 MG ..."
_DOSE_FORM = re.compile(
    r"\s+(?:(?:extended|delayed) release\s+)?(?:oral|topical|injectable|inhalation|sublingual|chewable|"
    r"transdermal|vaginal|nasal|ophthalmic|otic|rectal|mucosal)?\s*(?:tablet|capsule|solution|suspension|"
    r"cream|ointment|injection|spray|system|syringe|inhaler|implant|pack|patch|gel|lotion)s?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Product:
    """An RxNorm product description split into ingredient names and an optional bracketed brand."""

    description: str
    ingredients: tuple[str, ...]
    brand: str | None


def parse_product(description: str) -> Product:
    """'Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet [Percocet]' ->
    ingredients ('Acetaminophen', 'Oxycodone Hydrochloride'), brand 'Percocet'."""
    brand_match = _BRAND.search(description)
    brand = brand_match.group(1).strip() if brand_match else None
    text = " ".join(_BRAND.sub(" ", description).split())
    ingredients = []
    for part in text.split(" / "):
        part = part.strip()
        previous = None
        while previous != part:
            previous, part = part, _LEADING.sub("", part)
        part = _STRENGTH.sub("", part)
        part = _DOSE_FORM.sub("", part).strip(" ,;")
        if part:
            ingredients.append(part)
    return Product(description, tuple(ingredients), brand)


class DrugResolver:
    """DrugBank names and aliases (synonyms and brand names, which aliases.json does not tell apart)."""

    def __init__(self, index: NameIndex, names: dict[str, str]) -> None:
        self.index = index
        self.names = names

    @classmethod
    def from_data_dir(cls, data_dir: Path | str) -> DrugResolver:
        data_dir = Path(data_dir)
        index = NameIndex(salts=True)
        names: dict[str, str] = {}
        tsv = data_dir / "drugbank" / "drugbank.tsv"
        for line, row in read_rows(tsv, ("drugbank_id", "name"), delimiter="\t"):
            drug_id = row["drugbank_id"].strip()
            if not DRUGBANK_ID.match(drug_id):
                raise bad_value(tsv, line, "drugbank_id", drug_id, "not a DrugBank id (DB + 5 digits)")
            names[drug_id] = row["name"].strip()
            index.add(drug_id, names[drug_id], primary=True)
        aliases_path = data_dir / "drugbank" / "aliases.json"
        aliases = read_json(aliases_path)
        if not isinstance(aliases, dict):
            raise bad_value(aliases_path, 1, "<root>", type(aliases).__name__, "expected an object id -> names")
        for drug_id, alias_list in aliases.items():
            if not isinstance(alias_list, list):
                raise bad_value(aliases_path, 1, drug_id, alias_list, "expected a list of names")
            index.add_many(drug_id, alias_list)
        nodes = data_dir / "hetionet" / "hetionet-v1.0-nodes.tsv"
        if nodes.is_file():
            for _line, row in read_rows(nodes, ("id", "name", "kind"), delimiter="\t"):
                if row["kind"] == "Compound":
                    drug_id = row["id"].split("::", 1)[1]
                    names.setdefault(drug_id, row["name"])
                    index.add(drug_id, row["name"], primary=True)
        return cls(index, names)

    def __len__(self) -> int:
        return len(self.names)

    def name(self, drug_id: str) -> str | None:
        return self.names.get(drug_id)

    def match(self, name: str, fuzzy: bool = True) -> Match:
        """Full lookup outcome (resolution, or the ids of an ambiguous name)."""
        found = DRUGBANK_ID.match(name.strip())
        if found:
            drug_id = found.group(1).upper()
            if drug_id in self.names:
                return Match(name, Resolution(drug_id, self.names[drug_id], "id", SCORES["id"]))
            return Match(name)
        found_match = self.index.lookup(name, fuzzy=False)
        if found_match.resolved or found_match.ambiguous:
            return found_match
        words = normalise(name).split()
        kept = [w for w in words if w not in SPECIES_WORDS]
        if len(kept) >= 2 and len(kept) < len(words):  # "insulin regular human" -> "insulin regular"
            species = self.index.lookup(" ".join(kept), fuzzy=False)
            if species.resolution is not None:
                r = species.resolution
                return Match(name, Resolution(r.id, r.matched_name, "salt-stripped", SCORES["salt-stripped"]))
            if species.ambiguous:
                return Match(name, ambiguous=species.ambiguous)
        return self.index.lookup(name, fuzzy=fuzzy)

    def resolve(self, name: str, fuzzy: bool = True) -> Resolution | None:
        """The DrugBank id for a typed name, or None (unknown or ambiguous). Fuzzy only above a strict bar."""
        return self.match(name, fuzzy=fuzzy).resolution

    def suggest(self, name: str, k: int = 5) -> list[Suggestion]:
        """Ranked typo-tolerant candidates, e.g. 'asprin' -> Acetylsalicylic acid (DB00945) first."""
        return self.index.suggest(name, k=k)

    def match_product(self, description: str) -> list[Match]:
        """One Match per ingredient of an RxNorm description; a lone unresolved ingredient falls back to the brand."""
        product = parse_product(description)
        matches = [self.match(ingredient) for ingredient in product.ingredients]
        if product.brand and (not matches or (len(matches) == 1 and not matches[0].resolved)):
            brand = self.index.lookup(product.brand, fuzzy=False)
            if brand.resolution is not None:
                r = brand.resolution
                return [Match(description, Resolution(r.id, r.matched_name, "brand", SCORES["brand"]))]
        return matches

    def resolve_product(self, description: str) -> list[Resolution | None]:
        """'Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet' -> [DB00316, DB00497] resolutions."""
        return [m.resolution for m in self.match_product(description)]
