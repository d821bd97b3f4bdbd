"""MeSH 2015: the 438 symptom descriptors and their hierarchy (IS_A from tree numbers)."""

from __future__ import annotations

from collections import defaultdict

from kg.adapters.io import read_table
from kg.records import GraphBatch

SOURCE = "mesh"
SYMPTOMS = "ontologies/mesh-2015/symptoms.tsv"
TREES = "ontologies/mesh-2015/tree-numbers.tsv"
FILES = [SYMPTOMS, TREES]


def load(batch: GraphBatch) -> None:
    path = batch.data_dir / SYMPTOMS
    symptoms: dict[str, str] = {}
    for _, row in read_table(path, batch, SOURCE, ["mesh_id", "mesh_name"]):
        symptoms[row["mesh_id"]] = row["mesh_name"]
    trees: dict[str, list[str]] = defaultdict(list)
    tree_path = batch.data_dir / TREES
    for _, row in read_table(tree_path, batch, SOURCE, ["mesh_id", "mesh_tree_number"]):
        if row["mesh_id"] in symptoms:
            trees[row["mesh_id"]].append(row["mesh_tree_number"])
    by_tree = {tn: mid for mid, tns in trees.items() for tn in tns}
    for line, (mesh_id, name) in enumerate(symptoms.items(), start=2):
        batch.add_node("Symptom", mesh_id, {"name": name, "tree_numbers": sorted(trees.get(mesh_id, []))},
                       SOURCE, file=path, line=line)
    for mesh_id, tns in trees.items():
        for tn in tns:
            parent = by_tree.get(tn.rsplit(".", 1)[0]) if "." in tn else None
            if parent and parent != mesh_id:
                batch.add_edge("IS_A", ("Symptom", mesh_id), ("Symptom", parent), {}, SOURCE)
