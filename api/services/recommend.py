"""Drug recommendations for the API: the treats model's precomputed rankings, loaded at start-up (or on the
first request after a model appears), never failing start-up: with no model the route answers 503."""

from __future__ import annotations

import logging
import threading
import time
import zipfile
from pathlib import Path

from api.services.db import Gateway
from gnn.treats.recommend import Recommender, Safety, recommend
from kg.errors import ConfigError, ModelUnavailable
from kg.settings import Settings

log = logging.getLogger(__name__)
RETRY_SECONDS = 10.0  # while no model is loadable, how often a request looks again


class RecommenderUnavailable(ModelUnavailable):
    """No usable treats model: the message says why and how to make one."""


class RecommendService:
    """Holds the loaded Recommender (numpy score tables) for one app."""

    def __init__(self, settings: Settings, db: Gateway | None, artifacts: Path | None = None) -> None:
        self.db = db  # the model code's queries (safety, explanations) run through the app's gateway
        self.artifacts = artifacts or settings.medkg_artifacts
        self._rec: Recommender | None = None
        self._error = "not loaded yet"
        self._tried = 0.0
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Try to load the latest run; True on success. Errors are kept for the 503 message, never raised."""
        with self._lock:
            self._tried = time.monotonic()
            try:
                from gnn.pipeline.registry import get_family

                self._rec = Recommender(get_family("treats").load(None, self.artifacts))
                self._error = ""
                log.info("treats model %s loaded in %.2f s", self._rec.model_run, self._rec.load_seconds)
            except (ConfigError, OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
                self._rec, self._error = None, str(exc)
                log.warning("no treats model: %s", exc)
        return self._rec is not None

    @property
    def recommender(self) -> Recommender:
        if self._rec is None and time.monotonic() - self._tried > RETRY_SECONDS:
            self.load()
        if self._rec is None:
            raise RecommenderUnavailable(f"drug recommendation model unavailable: {self._error} "
                                         "(train one with `medkg train treats`)")
        return self._rec

    def recommend(self, disease: str, patient: str | None, top: int, safety: Safety, explain: bool) -> dict:
        return recommend(self.recommender, self.db, disease, patient_id=patient, top=top, safety=safety,
                         with_explanations=explain)
