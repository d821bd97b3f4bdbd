"""Identity resolution: the names, codes and cross-references of every source -> one standard id per entity.

Resolvers are pure Python, built from the source files once (a few seconds) and then queried in
microseconds to milliseconds. Nothing unresolved is dropped: callers keep it and record it in a
`ResolutionReport`.
"""

from kg.resolve.diseases import DiseaseOntology, DiseaseResolver, DiseaseTerm
from kg.resolve.drugs import DrugResolver, Product, parse_product
from kg.resolve.index import Match, NameIndex, Resolution, Suggestion
from kg.resolve.report import ResolutionReport
from kg.resolve.symptoms import SymptomResolver

__all__ = [
    "DiseaseOntology",
    "DiseaseResolver",
    "DiseaseTerm",
    "DrugResolver",
    "Match",
    "NameIndex",
    "Product",
    "Resolution",
    "ResolutionReport",
    "Suggestion",
    "SymptomResolver",
    "parse_product",
]
