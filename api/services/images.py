"""Chest X-rays of patients: decode an upload, score it with the latest `images` run, and attach it to the
patient in one write transaction; similar-case retrieval from the Image vector index."""

from __future__ import annotations

import threading
from typing import Any

from neo4j import Driver

from api.services.db import run_read
from gnn.images.graph import attach_images, ensure_image_schema, image_rows, similar_images
from gnn.images.upload import decode_upload
from kg.errors import ConfigError, ModelUnavailable
from kg.settings import Settings


class ImageModelUnavailable(ModelUnavailable):
    """No usable `images` model run (the route answers 503 with the reason)."""


class ImageService:
    """Loads the encoder on first use (and the Image schema once); thread-safe."""

    def __init__(self, settings: Settings, driver: Driver) -> None:
        self.settings, self.driver = settings, driver
        self._encoder: Any = None
        self._schema_ready = False
        self._lock = threading.Lock()

    def encoder(self) -> Any:
        with self._lock:
            if self._encoder is None:
                from gnn.images.encoder import ImageEncoder
                from gnn.images.family import ImagesFamily

                try:
                    man = ImagesFamily().store(self.settings.medkg_artifacts).manifest()
                    self._encoder = ImageEncoder(man, normal_share=self.settings.medkg_image_normal_share)
                except ConfigError as exc:
                    raise ImageModelUnavailable(str(exc)) from exc
            return self._encoder

    def _ensure_schema(self) -> None:
        with self._lock:
            if not self._schema_ready:
                ensure_image_schema(self.driver, self.settings.neo4j_database)
                self._schema_ready = True

    def add(self, patient_id: str, body: bytes, content_type: str | None) -> dict[str, Any]:
        """Decode (422 on bad input), score, and write Image + HAS_IMAGE (+ SHOWS when positive) at once."""
        s = self.settings
        decoded = decode_upload(body, content_type, s.medkg_image_max_bytes, s.medkg_image_max_pixels)
        enc = self.encoder()
        x = decoded.pixels[None]
        prob = enc.predict_proba(x)
        rows = image_rows(enc.embed(x), prob, threshold=enc.threshold, normal_share=enc.normal_share,
                          model_run=enc.model_run, sources=[decoded.source],
                          pixels=x if s.medkg_image_store_pixels else None)
        self._ensure_schema()
        written = attach_images(self.driver, patient_id, rows, s.neo4j_database)[0]
        props = rows[0]["props"]
        return {"image_id": written["image_id"], "patient_id": patient_id, "probability": props["probability"],
                "decision": props["decision"], "threshold": enc.threshold, "normal_share": enc.normal_share,
                "model_run": enc.model_run, "prediction": True,
                "finding": ({"id": written["finding_id"], "name": written["finding_name"]}
                            if written["shows"] else None),
                "pixels_stored": bool(s.medkg_image_store_pixels), "source": decoded.source}

    def owner(self, image_id: str) -> str | None:
        rows = run_read(self.driver, self.settings.neo4j_database,
                        "MATCH (p:Patient)-[:HAS_IMAGE]->(:Image {id: $id}) RETURN p.id AS p", {"id": image_id})
        return rows[0]["p"] if rows else None

    def similar(self, image_id: str, k: int) -> list[dict[str, Any]]:
        return similar_images(self.driver, image_id, k, self.settings.neo4j_database)
