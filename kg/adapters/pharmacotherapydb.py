"""PharmacotherapyDB: disease-modifying (TREATS), symptomatic (PALLIATES) and non-indications."""

from __future__ import annotations

from kg.adapters.io import read_table
from kg.records import GraphBatch

SOURCE = "pharmacotherapydb"
FILE = "pharmacotherapydb/indications.tsv"
FILES = [FILE]
CATEGORY = {"DM": "TREATS", "SYM": "PALLIATES", "NOT": "NOT_INDICATED_FOR"}


def load(batch: GraphBatch) -> None:
    path = batch.data_dir / FILE
    for line, row in read_table(path, batch, SOURCE, ["doid_id", "drugbank_id", "category"]):
        rel = CATEGORY.get(row["category"])
        if rel is None:
            batch.reject(path, line, f"unknown category {row['category']!r} (want DM, SYM or NOT)", SOURCE)
            continue
        props = {"n_curators": _int(row.get("n_curators")), "n_resources": _int(row.get("n_resources")),
                 "category": row["category"]}
        batch.add_edge(rel, ("Drug", row["drugbank_id"]), ("Disease", row["doid_id"]), props, SOURCE,
                       file=path, line=line)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
