"""MeSH symptom descriptors (and Hetionet side effects, keyed by UMLS CUI) from ids and names."""

from __future__ import annotations

import re
from pathlib import Path

from kg.resolve.index import SCORES, Match, NameIndex, Resolution, Suggestion
from kg.resolve.normalise import strip_semantic_tag, uninvert
from kg.resolve.sources import bad_value, read_rows

MESH_ID = re.compile(r"^(?:MESH:|MSH:)?(D\d{6})$", re.IGNORECASE)
UMLS_ID = re.compile(r"^(?:UMLS:|UMLS_CUI:)?(C\d{7})$", re.IGNORECASE)


class SymptomResolver:
    """Names -> the 438 MeSH symptom descriptors; UMLS CUIs -> MeSH via Hetionet side-effect names."""

    def __init__(self) -> None:
        self.index = NameIndex()
        self.names: dict[str, str] = {}
        self.side_effects = NameIndex()
        self.side_effect_names: dict[str, str] = {}

    @classmethod
    def from_data_dir(cls, data_dir: Path | str) -> SymptomResolver:
        data_dir = Path(data_dir)
        resolver = cls()
        path = data_dir / "ontologies" / "mesh-2015" / "symptoms.tsv"
        for line, row in read_rows(path, ("mesh_id", "mesh_name"), delimiter="\t"):
            if not MESH_ID.match(row["mesh_id"]):
                raise bad_value(path, line, "mesh_id", row["mesh_id"], "not a MeSH descriptor id (D + 6 digits)")
            resolver.add_symptom(row["mesh_id"], row["mesh_name"])
        nodes = data_dir / "hetionet" / "hetionet-v1.0-nodes.tsv"
        if nodes.is_file():
            for _line, row in read_rows(nodes, ("id", "name", "kind"), delimiter="\t"):
                if row["kind"] == "Side Effect":
                    cui = row["id"].split("::", 1)[1]
                    resolver.side_effect_names[cui] = row["name"]
                    resolver.side_effects.add(cui, row["name"], primary=True)
        return resolver

    def add_symptom(self, mesh_id: str, name: str) -> None:
        self.names[mesh_id] = name
        self.index.add(mesh_id, name, primary=True)
        if uninvert(name) != name:
            self.index.add(mesh_id, uninvert(name))  # "Pain, Chest" is also "Chest Pain"

    def __len__(self) -> int:
        return len(self.names)

    def match(self, text: str, fuzzy: bool = False) -> Match:
        """A MeSH id ('D000006', 'MESH:D000006') or a symptom name ('chest pain', 'Dyspnoea', 'Fever (finding)')."""
        text = text.strip()
        found = MESH_ID.match(text)
        if found:
            mesh_id = found.group(1).upper()
            if mesh_id in self.names:
                return Match(text, Resolution(mesh_id, self.names[mesh_id], "id", SCORES["id"]))
            return Match(text)
        return self.index.lookup(strip_semantic_tag(text), fuzzy=fuzzy)

    def resolve(self, text: str, fuzzy: bool = False) -> Resolution | None:
        return self.match(text, fuzzy=fuzzy).resolution

    def match_umls(self, cui: str, name: str) -> Match:
        """A UMLS-coded symptom (Columbia KB): by its own name, else by the Hetionet side-effect name of its CUI."""
        by_name = self.match(name)
        if by_name.resolved or by_name.ambiguous:
            return by_name
        found = UMLS_ID.match(cui.strip())
        other = self.side_effect_names.get(found.group(1).upper()) if found else None
        if other:
            via = self.match(other)
            if via.resolution is not None:
                r = via.resolution
                return Match(name, Resolution(r.id, r.matched_name, "xref", SCORES["xref"]))
        return by_name

    def side_effect(self, cui: str) -> str | None:
        """The Hetionet SideEffect id for a UMLS CUI, if Hetionet has it."""
        found = UMLS_ID.match(cui.strip())
        return found.group(1).upper() if found and found.group(1).upper() in self.side_effect_names else None

    def suggest(self, name: str, k: int = 5) -> list[Suggestion]:
        return self.index.suggest(strip_semantic_tag(name), k=k)
