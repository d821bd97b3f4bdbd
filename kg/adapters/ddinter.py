"""DDInter 1.0: drug-drug interaction severity. Drugs are named, not coded: names resolve to DrugBank ids.

A DDInter drug whose name does not resolve is kept as its own Drug node (id `DDInter…`, resolved=false)
so that none of its interactions is lost, and is listed in the resolution report.
"""

from __future__ import annotations

import re

from kg.adapters.io import read_table
from kg.adapters.resolvers import ResolutionTally, drug_resolver
from kg.records import GraphBatch

SOURCE = "ddinter"
GROUPS = ["A", "B", "D", "H", "L", "P", "R", "V"]
FILES = [f"ddinter/ddinter_downloads_code_{g}.csv" for g in GROUPS]
SEVERITY_RANK = {"Major": 3, "Moderate": 2, "Minor": 1, "Unknown": 0}
_ID = re.compile(r"^DDInter\d+$")


def load(batch: GraphBatch) -> None:
    resolver = drug_resolver(batch.data_dir)
    tally = ResolutionTally(batch, SOURCE)
    ids: dict[str, str] = {}  # DDInter id -> graph Drug id
    pairs: dict[tuple[str, str], dict] = {}
    for rel in FILES:
        path = batch.data_dir / rel
        group = rel.rsplit("_", 1)[1].removesuffix(".csv")
        for line, row in read_table(path, batch, SOURCE, ["DDInterID_A", "Drug_A", "DDInterID_B", "Drug_B", "Level"],
                                    delimiter=","):
            level = row["Level"].strip()
            if level not in SEVERITY_RANK:
                batch.reject(path, line, f"field Level has unknown value {level!r}", SOURCE)
                continue
            ends = []
            for side in ("A", "B"):
                ddi_id, name = row[f"DDInterID_{side}"].strip(), row[f"Drug_{side}"].strip()
                if not _ID.match(ddi_id) or not name:
                    batch.reject(path, line, f"field DDInterID_{side}/Drug_{side} invalid: {ddi_id!r} {name!r}",
                                 SOURCE)
                    break
                if ddi_id not in ids:
                    ids[ddi_id] = _resolve(batch, resolver, tally, ddi_id, name, path, line)
                ends.append(ids[ddi_id])
            if len(ends) != 2:
                continue
            a, b = sorted(ends)
            if a == b:
                batch.reject(path, line, f"both drugs ({row['Drug_A']!r}, {row['Drug_B']!r}) resolve to {a}", SOURCE)
                continue
            fact = pairs.setdefault((a, b), {"levels": set(), "groups": set(), "ddinter_ids": set(),
                                             "file": path, "line": line})
            fact["levels"].add(level)
            fact["groups"].add(group)
            fact["ddinter_ids"].update((row["DDInterID_A"], row["DDInterID_B"]))
    tally.finish()
    for (a, b), fact in pairs.items():
        levels = sorted(fact["levels"], key=SEVERITY_RANK.__getitem__, reverse=True)
        batch.add_edge("INTERACTS_WITH", ("Drug", a), ("Drug", b), {
            "severity": levels[0], "severity_values": levels, "atc_groups": sorted(fact["groups"]),
            "ddinter_ids": sorted(fact["ddinter_ids"]),
        }, SOURCE, file=fact["file"], line=fact["line"])


def _resolve(batch: GraphBatch, resolver, tally: ResolutionTally, ddi_id: str, name: str, path, line) -> str:
    match = resolver.match(name)
    if match.resolution is not None:
        tally.resolved(match.resolution.method)
        return match.resolution.id
    tally.unresolved(name, tuple(match.ambiguous or ()))
    batch.add_node("Drug", ddi_id, {"name": name, "resolved": False},
                   SOURCE, file=path, line=line)
    return ddi_id
