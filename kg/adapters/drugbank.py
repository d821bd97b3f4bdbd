"""DrugBank vocabulary (dhimmel/drugbank): names, aliases, ATC codes, categories, descriptions."""

from __future__ import annotations

import json

from kg.adapters.io import read_table, split_list
from kg.records import GraphBatch

SOURCE = "drugbank"
DRUGS = "drugbank/drugbank.tsv"
ALIASES = "drugbank/aliases.json"
FILES = [DRUGS, ALIASES]


def load(batch: GraphBatch) -> None:
    path = batch.data_dir / DRUGS
    alias_path = batch.data_dir / ALIASES
    try:
        aliases: dict[str, list[str]] = json.loads(alias_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        batch.reject(alias_path, exc.lineno, f"invalid JSON: {exc.msg}", SOURCE)
        aliases = {}
    for line, row in read_table(path, batch, SOURCE, ["drugbank_id", "name", "type", "groups"]):
        drug_id = row["drugbank_id"]
        name = row["name"].strip()
        synonyms = sorted({a for a in aliases.get(drug_id, []) if a and a != name})
        batch.add_node("Drug", drug_id, {
            "name": name,
            "type": row["type"],
            "groups": split_list(row["groups"]),
            "atc_codes": split_list(row.get("atc_codes")),
            "categories": split_list(row.get("categories")),
            "inchikey": (row.get("inchikey") or "").removeprefix("InChIKey=") or None,
            "description": row.get("description") or None,
            "synonyms": synonyms,
            "resolved": True,
        }, SOURCE, file=path, line=line)
