"""Text embeddings of the real graph: incremental embedding, vector indexes, nearest nodes, degraded search.

Only small labels are embedded here (Pathology: 49 nodes, a few Disease nodes) to keep the tests fast.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from gnn.text.encoder import TextEncoder, get_encoder
from gnn.text.graph import (
    create_vector_indexes,
    embed_nodes,
    hybrid_search,
    similar_nodes,
    text_labels,
    vector_indexes,
    vector_search,
)
from gnn.text.nodes import node_text, text_hash
from kg.errors import InvalidInput, NotFound

DISEASES = ["DOID:5844", "DOID:3393", "DOID:114", "DOID:1324", "DOID:9352"]  # MI, CAD, heart disease, lung cancer, T2D


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return get_encoder()


@pytest.fixture(scope="module")
def graph(built_graph, driver, encoder: TextEncoder):
    create_vector_indexes(driver, ["Pathology", "Disease"])
    embed_nodes(driver, "Pathology", encoder)
    embed_nodes(driver, "Disease", encoder, ids=DISEASES)
    return driver


def test_text_labels_are_the_schema_labels_with_a_text_list() -> None:
    assert text_labels() == ["Drug", "Disease", "Symptom", "SideEffect", "Pathology", "Evidence"]


@pytest.mark.neo4j
def test_embedding_is_incremental_and_follows_name_edits(graph, encoder: TextEncoder) -> None:
    from kg.db import read, write

    driver = graph
    assert embed_nodes(driver, "Pathology", encoder) == {"label": "Pathology", "total": 49, "embedded": 0,
                                                         "unchanged": 49, "skipped": 0}
    write(driver, "MATCH (n:Pathology) WHERE n.id IN ['Bronchitis', 'Pneumonia'] REMOVE n.text_embedding")
    counts = embed_nodes(driver, "Pathology", encoder)
    assert (counts["embedded"], counts["unchanged"]) == (2, 47)  # the two without a vector, nothing else
    before = read(driver, "MATCH (n:Pathology {id: 'Bronchitis'}) RETURN n.text_embedding AS v, n.text_hash AS h")[0]
    try:
        write(driver, "MATCH (n:Pathology {id: 'Bronchitis'}) SET n.name = 'Acute bronchitis'")
        counts = embed_nodes(driver, "Pathology", encoder)
        assert (counts["embedded"], counts["unchanged"]) == (1, 48)  # only the edited node
        after = read(driver, "MATCH (n:Pathology {id: 'Bronchitis'}) "
                             "RETURN n.text_embedding AS v, n.text_hash AS h")[0]
        assert after["h"] == text_hash(node_text("Pathology", {"id": "Bronchitis", "name": "Acute bronchitis"}))
        assert after["h"] != before["h"]
        assert 0.5 < float(np.dot(after["v"], before["v"])) < 0.9999  # a new, related vector
    finally:
        write(driver, "MATCH (n:Pathology {id: 'Bronchitis'}) SET n.name = 'Bronchitis'")
        assert embed_nodes(driver, "Pathology", encoder)["embedded"] == 1
    assert embed_nodes(driver, "Pathology", encoder)["embedded"] == 0


@pytest.mark.neo4j
def test_embedding_can_be_restricted_to_ids(graph, encoder: TextEncoder) -> None:
    counts = embed_nodes(graph, "Disease", encoder, ids=DISEASES)
    assert (counts["total"], counts["embedded"], counts["unchanged"]) == (5, 0, 5)
    assert embed_nodes(graph, "Disease", encoder, ids=["DOID:does-not-exist"])["total"] == 0


@pytest.mark.neo4j
def test_vector_index_is_online_and_finds_each_node_itself_first(graph) -> None:
    from kg.db import read

    assert {"Pathology": "pathology_text", "Disease": "disease_text"}.items() <= vector_indexes(graph).items()
    opts = read(graph, "SHOW VECTOR INDEXES YIELD name, options WHERE name = 'pathology_text' RETURN options")[0]
    config = opts["options"]["indexConfig"]
    assert (config["vector.dimensions"], config["vector.similarity_function"]) == (384, "COSINE")
    rows = read(graph, "MATCH (n:Pathology) RETURN n.id AS id, n.text_embedding AS v ORDER BY n.id LIMIT 10")
    for r in rows:
        top = vector_search(graph, "Pathology", r["v"], k=3)
        assert top[0]["id"] == r["id"] and top[0]["cosine"] > 0.99  # > 0.99: the index quantises vectors
    near = similar_nodes(graph, "Pathology", "Bronchitis", k=5)
    assert len(near) == 5 and "Bronchitis" not in [h["id"] for h in near]
    assert {"Acute laryngitis", "Pneumonia", "Bronchiectasis"} & {h["id"] for h in near}
    assert [h["cosine"] for h in near] == sorted((h["cosine"] for h in near), reverse=True)
    with pytest.raises(NotFound):
        similar_nodes(graph, "Pathology", "no such pathology", k=3)


@pytest.mark.neo4j
def test_hybrid_search_without_vector_index_uses_fulltext_and_exact(graph, encoder: TextEncoder) -> None:
    assert "Gene" not in vector_indexes(graph)  # Gene has no `text:` list: never embedded
    hits = hybrid_search(graph, "BRCA1", ["Gene"], k=3, encoder=encoder)
    assert hits[0]["id"] == "672" and hits[0]["exact"] and hits[0]["matched"] == "name"
    assert hits[0]["vector"] == 0.0 and hits[0]["fulltext"] == 1.0
    mixed = hybrid_search(graph, "heart attack", ["Disease", "Gene"], k=3, encoder=encoder)
    assert mixed[0]["id"] == "DOID:5844" and mixed[0]["matched"] == "synonym" and mixed[0]["vector"] > 0.3


@pytest.mark.neo4j
def test_cli_embed_graph_reports_counts_and_rejects_unknown_labels(graph, capsys) -> None:
    from api.cli import main

    assert main(["text", "embed-graph", "--labels", "Pathology", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["labels"][0] | {"seconds": 0} == {"label": "Pathology", "index": "pathology_text", "total": 49,
                                                     "embedded": 0, "unchanged": 49, "skipped": 0, "seconds": 0}
    assert report["embedded"] == 0 and report["seconds"] > 0
    assert main(["text", "embed-graph", "--labels", "Pathology"]) == 0
    assert "embedded 0 nodes, 49 unchanged" in capsys.readouterr().out
    assert main(["text", "embed-graph", "--labels", "Pathology,Gene"]) == 1
    assert "Gene have no `text:` list in ontologies/schema.yaml; embeddable: Drug, Disease" in capsys.readouterr().err
    with pytest.raises(InvalidInput, match="batch must be at least 1"):
        from gnn.text.graph import embed_graph

        embed_graph(graph, ["Pathology"], batch=0)
