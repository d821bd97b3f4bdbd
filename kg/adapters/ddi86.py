"""DrugBank drug-drug interactions in 86 types: mechanism sentence and type, one fact per row.

Direction (shared data README): a row reads correctly with #Drug1 := drug2 and #Drug2 := drug1.
"""

from __future__ import annotations

import csv

from kg.adapters.io import read_table
from kg.records import GraphBatch

SOURCE = "drugbank-ddi-86"
DDI = "drugbank-ddi-86/ddi.tsv"
TYPES = "drugbank-ddi-86/id2rel.txt"
FILES = [DDI, TYPES]


def read_templates(batch: GraphBatch) -> dict[str, str]:
    path = batch.data_dir / TYPES
    out = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            tid, text = row.get("Interaction type"), row.get("Description")
            if not tid or not text:
                batch.reject(path, line, "missing Interaction type or Description", SOURCE)
                continue
            out[tid.strip()] = text.strip()
    return out


def render(template: str, subject_name: str, object_name: str) -> str:
    """Fill the sentence: #Drug1 is the row's drug2 (subject), #Drug2 the row's drug1."""
    return template.replace("#Drug1", subject_name).replace("#Drug2", object_name)


def load(batch: GraphBatch) -> None:
    templates = read_templates(batch)
    path = batch.data_dir / DDI
    for line, row in read_table(path, batch, SOURCE, ["drug1", "drug2", "Label"]):
        label = row["Label"].strip()
        template = templates.get(label)
        if template is None:
            batch.reject(path, line, f"unknown interaction type Label={label!r}", SOURCE)
            continue
        d1, d2 = row["drug1"].strip(), row["drug2"].strip()
        for drug_id in (d1, d2):
            if ("Drug", drug_id) not in batch.nodes:
                # A newer DrugBank id than the vocabulary file holds: keep the drug (named by its id).
                batch.add_node("Drug", drug_id, {"name": drug_id, "resolved": True, "name_known": False},
                               SOURCE, file=path, line=line)
        # Stored as drug2 -> drug1 so that the start node is #Drug1 (the sentence's subject).
        batch.add_edge("INTERACTS_WITH", ("Drug", d2), ("Drug", d1),
                       {"ddi_type": int(label), "mechanism_template": template}, SOURCE,
                       key_extra=label, file=path, line=line)
