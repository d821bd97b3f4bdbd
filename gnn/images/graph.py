"""Images in the graph: `(:Patient)-[:HAS_IMAGE]->(:Image {embedding})-[:SHOWS]->(:Disease)` and similar-case
retrieval from the Image vector index. Labels, types and the index come from ontologies/schema.yaml."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from neo4j import Driver, ManagedTransaction
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from kg.db import read
from kg.errors import DatabaseUnavailable, InvalidInput, NotFound
from kg.schema import get_schema

PNEUMONIA_DOID = "DOID:552"  # Disease Ontology "pneumonia": the finding a positive image SHOWS
SOURCES = ["medkg-images"]
LICENSES = ["patient data (pseudonymous; not for redistribution)"]

ATTACH = """
MATCH (p:Patient {id: $patient_id})
OPTIONAL MATCH (d:Disease {id: $finding_id})
WITH p, d
UNWIND $rows AS row
CREATE (p)-[:HAS_IMAGE]->(img:Image {id: row.id})
SET img += row.props, img.sources = $sources, img.licenses = $licenses
WITH img, row, d
CALL db.create.setNodeVectorProperty(img, $property, row.vec)
FOREACH (_ IN CASE WHEN row.positive AND d IS NOT NULL THEN [1] ELSE [] END |
  CREATE (img)-[:SHOWS {probability: row.props.probability, model_run: row.props.model_run,
                        threshold: row.props.threshold, predicted: true, sources: $sources}]->(d))
RETURN img.id AS image_id, row.positive AND d IS NOT NULL AS shows, d.id AS finding_id, d.name AS finding_name
"""

SIMILAR = """
MATCH (q:Image {id: $id})
CALL db.index.vector.queryNodes($index, $k + $extra, q.embedding) YIELD node, score
WITH q, node, score WHERE node <> q AND node.model_run = q.model_run
OPTIONAL MATCH (p:Patient)-[:HAS_IMAGE]->(node)
RETURN node.id AS image_id, score, p.id AS patient_id, node.probability AS probability,
       node.decision AS decision, node.model_run AS model_run,
       [(node)-[s:SHOWS]->(d:Disease) | {id: d.id, name: d.name, probability: s.probability}] AS findings
ORDER BY score DESC LIMIT $k
"""


def vector_spec() -> dict[str, Any]:
    """The Image label's `vector:` entry of the schema (property, index, dimensions, similarity)."""
    return dict(get_schema().raw["nodes"]["Image"]["vector"])


def ensure_image_schema(driver: Driver, database: str | None = None, timeout_s: int = 120) -> None:
    """The Image id constraint and the cosine vector index on Image embeddings (idempotent)."""
    spec = vector_spec()
    label = get_schema().check_label("Image")
    stmts = [f"CREATE CONSTRAINT image_id IF NOT EXISTS FOR (n:{label}) REQUIRE n.id IS UNIQUE",
             f"CREATE VECTOR INDEX {spec['index']} IF NOT EXISTS FOR (n:{label}) ON (n.{spec['property']}) "
             f"OPTIONS {{indexConfig: {{`vector.dimensions`: {int(spec['dimensions'])}, "
             f"`vector.similarity_function`: '{spec['similarity']}'}}}}"]
    for stmt in stmts:
        driver.execute_query(stmt, database_=database)
    driver.execute_query(f"CALL db.awaitIndexes({int(timeout_s)})", database_=database)


def new_image_id() -> str:
    return "IMG-" + secrets.token_hex(8)


def image_rows(embeddings: np.ndarray, probabilities: np.ndarray, *, threshold: float, normal_share: float,
               model_run: str, sources: Sequence[dict[str, Any]], pixels: np.ndarray | None = None
               ) -> list[dict[str, Any]]:
    """One row per image for `attach_images`: id, embedding, properties, and whether it is positive."""
    dim = int(vector_spec()["dimensions"])
    if embeddings.ndim != 2 or embeddings.shape[1] != dim:
        raise InvalidInput(f"embeddings have shape {embeddings.shape}, the Image index expects {dim} dimensions",
                           field="embedding")
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    rows = []
    for i, (vec, prob) in enumerate(zip(embeddings, probabilities, strict=True)):
        positive = bool(prob >= threshold)
        props = {"modality": "chest X-ray", "model_run": model_run, "probability": float(prob),
                 "decision": "pneumonia" if positive else "normal", "threshold": float(threshold),
                 "normal_share": float(normal_share), "created": created,
                 "source_format": sources[i]["format"], "source_width": int(sources[i]["width"]),
                 "source_height": int(sources[i]["height"])}
        if pixels is not None:
            props["pixels"] = [int(v) for v in np.asarray(pixels[i]).reshape(-1)]
        rows.append({"id": new_image_id(), "vec": [float(v) for v in vec], "props": props, "positive": positive})
    return rows


def attach_images(driver: Driver, patient_id: str, rows: list[dict[str, Any]], database: str | None = None,
                  finding_id: str = PNEUMONIA_DOID) -> list[dict[str, Any]]:
    """Write every row's Image, HAS_IMAGE and (when positive) SHOWS in ONE transaction: all or nothing."""
    if not rows:
        raise InvalidInput("no images to attach", field="images")

    def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
        return tx.run(ATTACH, patient_id=patient_id, rows=rows, finding_id=finding_id, sources=SOURCES,
                      licenses=LICENSES, property=vector_spec()["property"]).data()

    try:
        with driver.session(database=database) as session:
            out = session.execute_write(work)
    except (ServiceUnavailable, SessionExpired, OSError) as exc:
        raise DatabaseUnavailable(f"Neo4j is unreachable: {exc}") from exc
    if not out:
        raise NotFound(f"no patient with id {patient_id!r}")
    return out


def similar_images(driver: Driver, image_id: str, k: int = 5, database: str | None = None) -> list[dict[str, Any]]:
    """The k nearest other images (same model run) by cosine, with their patient and findings."""
    found = read(driver, "MATCH (i:Image {id: $id}) RETURN i.model_run AS run", database, id=image_id)
    if not found:
        raise NotFound(f"no image with id {image_id!r}")
    # the index also returns images of other model runs, filtered out after: ask for a few more
    return read(driver, SIMILAR, database, id=image_id, index=vector_spec()["index"], k=int(k), extra=int(k) + 10)
