"""Hetionet v1.0: nodes, the medical edges, the 5k sample for the other edge types, CbG/DaG properties."""

from __future__ import annotations

from pathlib import Path

from kg.adapters.io import read_sif, read_table, split_list
from kg.records import GraphBatch

SOURCE = "hetionet"
NODES = "hetionet/hetionet-v1.0-nodes.tsv"
MEDICAL = "hetionet/hetionet-v1.0-medical-edges.sif.gz"
SAMPLE = "hetionet/hetionet-v1.0-edges-5k.sif.gz"
CBG = "hetionet/CbG-binding.tsv"
DAG = "hetionet/DaG-association.tsv"
FILES = [NODES, MEDICAL, SAMPLE, CBG, DAG]

KIND_LABEL = {
    "Compound": "Drug", "Disease": "Disease", "Symptom": "Symptom", "Side Effect": "SideEffect",
    "Gene": "Gene", "Anatomy": "Anatomy", "Pharmacologic Class": "PharmacologicClass", "Pathway": "Pathway",
    "Biological Process": "BiologicalProcess", "Cellular Component": "CellularComponent",
    "Molecular Function": "MolecularFunction",
}
# The license of the resource each node kind comes from (hetionet/source-licenses.md).
KIND_LICENSE = {
    "Compound": "CC BY-NC 4.0", "Disease": "CC BY 3.0", "Symptom": "NLM terms", "Side Effect": "CC BY-NC-SA 4.0",
    "Gene": "public domain", "Anatomy": "CC BY 3.0", "Pharmacologic Class": "CC BY 4.0",
    "Pathway": "CC BY 3.0", "Biological Process": "CC BY 4.0", "Cellular Component": "CC BY 4.0",
    "Molecular Function": "CC BY 4.0",
}
# metaedge -> (relationship type, license of the underlying resource)
METAEDGE = {
    "CtD": ("TREATS", "CC0 1.0"), "CpD": ("PALLIATES", "CC0 1.0"), "DpS": ("PRESENTS", "public domain"),
    "DlA": ("LOCALIZES", "public domain"), "DrD": ("RESEMBLES", "public domain"),
    "CrC": ("RESEMBLES", "CC BY-NC 4.0"), "PCiC": ("INCLUDES", "CC BY 4.0"),
    "CcSE": ("CAUSES", "CC BY-NC-SA 4.0"), "CbG": ("BINDS", "CC BY-NC 4.0"), "DaG": ("ASSOCIATES", "CC BY 4.0"),
    "AdG": ("DOWNREGULATES", "CC BY 4.0"), "AuG": ("UPREGULATES", "CC BY 4.0"), "AeG": ("EXPRESSES", "CC BY 4.0"),
    "CdG": ("DOWNREGULATES", "custom (LINCS L1000)"), "CuG": ("UPREGULATES", "custom (LINCS L1000)"),
    "DdG": ("DOWNREGULATES", "CC BY 4.0"), "DuG": ("UPREGULATES", "CC BY 4.0"), "GcG": ("COVARIES", "CC0 1.0"),
    "GiG": ("INTERACTS", "CC BY 4.0"), "Gr>G": ("REGULATES", "custom (LINCS L1000)"),
    "GpBP": ("PARTICIPATES", "CC BY 4.0"), "GpCC": ("PARTICIPATES", "CC BY 4.0"),
    "GpMF": ("PARTICIPATES", "CC BY 4.0"), "GpPW": ("PARTICIPATES", "CC BY 3.0"),
}


def _node_ref(raw: str) -> tuple[str, str] | None:
    kind, _, node_id = raw.partition("::")
    label = KIND_LABEL.get(kind)
    return (label, node_id) if label and node_id else None


def load(batch: GraphBatch) -> None:
    d = batch.data_dir
    load_nodes(batch, d / NODES)
    binding = _edge_props_cbg(batch, d / CBG)
    association = _edge_props_dag(batch, d / DAG)
    medical_types = load_edges(batch, d / MEDICAL, binding, association)
    load_edges(batch, d / SAMPLE, binding, association, skip=medical_types)


def load_nodes(batch: GraphBatch, path: Path) -> None:
    for line, row in read_table(path, batch, SOURCE, ["id", "name", "kind"]):
        kind = row["kind"]
        ref = _node_ref(row["id"])
        if ref is None or row["id"].split("::")[0] != kind:
            batch.reject(path, line, f"unknown node kind or id {row['id']!r} (kind {kind!r})", SOURCE)
            continue
        label, node_id = ref
        batch.add_node(label, node_id, {"name": row["name"]},
                       SOURCE, license=KIND_LICENSE[kind], file=path, line=line)


def _edge_props_cbg(batch: GraphBatch, path: Path) -> dict[tuple[str, str], dict]:
    out = {}
    for _, row in read_table(path, batch, SOURCE, ["drugbank_id", "entrez_gene_id", "sources", "license"]):
        affinity = row.get("affinity_nM") or ""
        out[(row["drugbank_id"], row["entrez_gene_id"])] = {
            "evidence_sources": split_list(row["sources"]),
            "pubmed_ids": split_list(row.get("pubmed_ids")),
            "actions": split_list(row.get("actions")),
            "affinity_nM": float(affinity) if affinity else None,
            "_license": row["license"] or None,
        }
    return out


def _edge_props_dag(batch: GraphBatch, path: Path) -> dict[tuple[str, str], dict]:
    out = {}
    for _, row in read_table(path, batch, SOURCE, ["doid_id", "entrez_gene_id", "sources", "license"]):
        out[(row["doid_id"], row["entrez_gene_id"])] = {
            "evidence_sources": split_list(row["sources"]), "_license": row["license"] or None,
        }
    return out


def load_edges(batch: GraphBatch, path: Path, binding: dict, association: dict,
               skip: set[str] | None = None) -> set[str]:
    """Load one SIF file; returns the metaedges it held (so the 5k sample only adds missing types)."""
    seen: set[str] = set()
    skip = skip or set()
    for line, src, metaedge, tgt in read_sif(path, batch, SOURCE):
        if metaedge in skip:
            continue
        seen.add(metaedge)
        if metaedge not in METAEDGE:
            batch.reject(path, line, f"unknown metaedge {metaedge!r}", SOURCE)
            continue
        start, end = _node_ref(src), _node_ref(tgt)
        if start is None or end is None:
            batch.reject(path, line, f"bad node reference in {src!r} -> {tgt!r}", SOURCE)
            continue
        rel, license_ = METAEDGE[metaedge]
        props: dict = {"metaedge": metaedge}
        extra = None
        if metaedge == "CbG":
            extra = binding.get((start[1], end[1]))
        elif metaedge == "DaG":
            extra = association.get((start[1], end[1]))
        if extra:
            props.update({k: v for k, v in extra.items() if not k.startswith("_")})
            license_ = extra.get("_license") or license_
        batch.add_edge(rel, start, end, props, SOURCE, license=license_, file=path, line=line)
    return seen
