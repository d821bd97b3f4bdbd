"""Identity resolvers built once per build from the data directory (names, aliases, xrefs)."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

from kg.records import GraphBatch


@cache
def drug_resolver(data_dir: Path):
    from kg.resolve.drugs import DrugResolver

    return DrugResolver.from_data_dir(data_dir)


@cache
def disease_resolver(data_dir: Path):
    from kg.resolve.diseases import DiseaseResolver

    return DiseaseResolver.from_data_dir(data_dir)


@cache
def symptom_resolver(data_dir: Path):
    from kg.resolve.symptoms import SymptomResolver

    return SymptomResolver.from_data_dir(data_dir)


class ResolutionTally:
    """Per-source resolution counts kept on the batch (the build's resolution report)."""

    def __init__(self, batch: GraphBatch, source: str) -> None:
        self.entry = batch.resolution.setdefault(
            source, {"total": 0, "resolved": 0, "by_method": {}, "unresolved": [], "ambiguous": []})
        self.methods: Counter[str] = Counter(self.entry["by_method"])

    def resolved(self, method: str) -> None:
        self.entry["total"] += 1
        self.entry["resolved"] += 1
        self.methods[method] += 1
        self.entry["by_method"] = dict(self.methods)

    def unresolved(self, name: str, ambiguous: tuple[str, ...] = ()) -> None:
        self.entry["total"] += 1
        if ambiguous:
            self.entry["ambiguous"].append({"name": name, "candidates": list(ambiguous)})
        self.entry["unresolved"].append(name)

    def finish(self) -> None:
        total = self.entry["total"]
        self.entry["rate"] = round(self.entry["resolved"] / total, 4) if total else None
