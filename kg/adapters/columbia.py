"""Columbia disease-symptom knowledge base (discharge summaries, UMLS ids) mapped to DOID and MeSH.

Rows whose disease or symptom has no DOID / MeSH counterpart stay out of the graph (Symptom is the
MeSH symptom vocabulary) and are listed, with their UMLS ids, in the build's resolution report.
"""

from __future__ import annotations

import re

from kg.adapters.io import read_table
from kg.adapters.resolvers import ResolutionTally, disease_resolver, symptom_resolver
from kg.records import GraphBatch

SOURCE = "columbia"
FILE = "symptom-disease-kb/columbia-disease-symptom-kb-original.csv"
FILES = [FILE]
_TERM = re.compile(r"^UMLS:(C\d{7})_(.+)$")


def _parse(cell: str) -> list[tuple[str, str]]:
    """`UMLS:C0020538_hypertensive disease^UMLS:C…_…` → [(cui, name), …]."""
    out = []
    for part in cell.split("^"):
        m = _TERM.match(part.strip())
        if m:
            out.append((m.group(1), m.group(2).strip()))
    return out


def load(batch: GraphBatch) -> None:
    path = batch.data_dir / FILE
    diseases, symptoms = disease_resolver(batch.data_dir), symptom_resolver(batch.data_dir)
    d_tally, s_tally = ResolutionTally(batch, "columbia-diseases"), ResolutionTally(batch, "columbia-symptoms")
    d_cache: dict[str, str | None] = {}
    s_cache: dict[str, str | None] = {}
    disease: list[tuple[str, str]] = []
    occurrence = None
    for line, row in read_table(path, batch, SOURCE, ["Disease", "disease_occurrence", "Symptom"], delimiter=","):
        if row["Disease"].strip():
            disease = _parse(row["Disease"])
            if not disease:
                batch.reject(path, line, f"field Disease has no UMLS term: {row['Disease']!r}", SOURCE)
            occurrence = int(row["disease_occurrence"]) if row["disease_occurrence"].strip().isdigit() else None
        symptom = _parse(row["Symptom"])
        if not disease or not symptom:
            if row["Symptom"].strip() and not symptom:
                batch.reject(path, line, f"field Symptom has no UMLS term: {row['Symptom']!r}", SOURCE)
            continue
        d_cui, d_name = disease[0]
        s_cui, s_name = symptom[0]
        if d_cui not in d_cache:
            match = diseases.match_xref(f"UMLS_CUI:{d_cui}")
            res = match.resolution or diseases.resolve(d_name)
            d_cache[d_cui] = res.id if res else None
            (d_tally.resolved(res.method) if res else d_tally.unresolved(f"{d_cui} {d_name}"))
        if s_cui not in s_cache:
            res = symptoms.match_umls(s_cui, s_name).resolution
            s_cache[s_cui] = res.id if res else None
            (s_tally.resolved(res.method) if res else s_tally.unresolved(f"{s_cui} {s_name}"))
        doid, mesh = d_cache[d_cui], s_cache[s_cui]
        if doid and mesh:
            batch.add_edge("PRESENTS", ("Disease", doid), ("Symptom", mesh),
                           {"weight": occurrence, "weight_kind": "disease occurrences", "umls_disease": d_cui,
                            "umls_symptom": s_cui}, SOURCE, file=path, line=line)
    d_tally.finish()
    s_tally.finish()
