"""Disease Ontology (2015-05-14, the DOIDs Hetionet uses): names, definitions, synonyms, xrefs, IS_A."""

from __future__ import annotations

from kg.adapters.resolvers import disease_resolver
from kg.records import GraphBatch

SOURCE = "disease-ontology"
OBO = "ontologies/disease-ontology/HumanDO.obo"
FILES = [OBO]


def load(batch: GraphBatch) -> None:
    path = batch.data_dir / OBO
    ontology = disease_resolver(batch.data_dir).ontology
    for term in ontology.terms.values():
        if term.obsolete:
            continue
        batch.add_node("Disease", term.id, {
            "name": term.name, "definition": term.definition, "synonyms": sorted(term.synonyms),
            "xrefs": sorted(term.xrefs),
        }, SOURCE, file=path)
    for child, parent in ontology.is_a_edges():
        batch.add_edge("IS_A", ("Disease", child), ("Disease", parent), {}, SOURCE, file=path)
