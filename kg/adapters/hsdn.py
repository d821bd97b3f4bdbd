"""HSDN (Zhou et al. 2014): weighted symptom-disease co-occurrences keyed to MeSH and DOIDs."""

from __future__ import annotations

from kg.adapters.io import read_table
from kg.records import GraphBatch

SOURCE = "hsdn"
FILE = "symptom-disease-kb/hsdn-symptoms-DO.tsv"
FILES = [FILE]


def load(batch: GraphBatch) -> None:
    path = batch.data_dir / FILE
    for line, row in read_table(path, batch, SOURCE, ["symptom_id", "doid_code", "tfidf_score", "cooccurs"]):
        try:
            weight = float(row["tfidf_score"])
            cooccurs = int(row["cooccurs"])
        except ValueError:
            batch.reject(path, line, f"non-numeric tfidf_score {row['tfidf_score']!r} or cooccurs "
                                     f"{row['cooccurs']!r}", SOURCE)
            continue
        batch.add_edge("PRESENTS", ("Disease", row["doid_code"]), ("Symptom", row["symptom_id"]),
                       {"weight": weight, "cooccurs": cooccurs, "weight_kind": "tf-idf"}, SOURCE,
                       file=path, line=line)
