"""Attach image embeddings and pneumonia findings to the graph; query similar images by vector index."""

from __future__ import annotations

from collections.abc import Sequence

from neo4j import Driver

from kg.db import read, write
from kg.errors import NotFound

INDEX_NAME = "image_embedding"
FINDING_ID = "pneumonia"

ATTACH = """
MATCH (p:Patient {id: $patient_id})
MERGE (img:Image {id: $image_id})
  ON CREATE SET img.sources = ['medkg-images'], img.licenses = ['CC BY 4.0']
SET img.model_run = $model_run
WITH p, img
CALL db.create.setNodeVectorProperty(img, 'embedding', $vec)
MERGE (p)-[:HAS_IMAGE]->(img)
MERGE (f:Finding {id: $finding_id})
  ON CREATE SET f.name = 'Pneumonia', f.sources = ['medkg-images']
MERGE (img)-[s:SHOWS {model_run: $model_run}]->(f)
SET s.probability = $probability
RETURN img.id AS image_id
"""

SIMILAR = """
CALL db.index.vector.queryNodes($index, $k, $vec) YIELD node, score
OPTIONAL MATCH (p:Patient)-[:HAS_IMAGE]->(node)
OPTIONAL MATCH (node)-[s:SHOWS]->(:Finding {id: $finding_id})
RETURN node.id AS image_id, score, p.id AS patient_id, s.probability AS probability, s.model_run AS model_run
ORDER BY score DESC
"""


def _vector(embedding: Sequence[float]) -> list[float]:
    vec = [float(v) for v in embedding]
    if not vec:
        raise ValueError("embedding is empty")
    return vec


def create_vector_index(driver: Driver, dimensions: int = 128) -> None:
    """Create the cosine vector index `image_embedding` on Image.embedding (idempotent)."""
    if int(dimensions) <= 0:
        raise ValueError(f"dimensions must be positive, got {dimensions}")
    write(driver, f"""
        CREATE VECTOR INDEX {INDEX_NAME} IF NOT EXISTS FOR (i:Image) ON (i.embedding)
        OPTIONS {{indexConfig: {{`vector.dimensions`: {int(dimensions)},
                                `vector.similarity_function`: 'cosine'}}}}""")


def attach_image(driver: Driver, patient_id: str, image_id: str, embedding: Sequence[float], probability: float,
                 model_run: str) -> str:
    """MERGE the Image with its embedding, link it to its (existing) Patient and to the pneumonia Finding."""
    if not 0.0 <= float(probability) <= 1.0:
        raise ValueError(f"probability must lie in [0, 1], got {probability}")
    rows = write(driver, ATTACH, patient_id=patient_id, image_id=image_id, vec=_vector(embedding),
                 finding_id=FINDING_ID, probability=float(probability), model_run=model_run)
    if not rows:
        raise NotFound(f"no Patient with id {patient_id!r}: create the patient before attaching an image")
    return rows[0]["image_id"]


def similar_images(driver: Driver, vector: Sequence[float], k: int = 5) -> list[dict]:
    """The k nearest images by cosine similarity, with their patient and pneumonia probability."""
    return read(driver, SIMILAR, index=INDEX_NAME, k=int(k), vec=_vector(vector), finding_id=FINDING_ID)
