"""One model family's latest run for the API, loaded at start-up and retried on a later request, never failing
start-up: while no run is loadable, `get()` raises the route's `ModelUnavailable` subclass with the reason
and the command that makes one (HTTP 503)."""

from __future__ import annotations

import logging
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from kg.errors import ConfigError, ModelUnavailable

log = logging.getLogger(__name__)
RETRY_SECONDS = 10.0  # while no model is loadable, how often a request looks again
T = TypeVar("T")
#: what a broken or missing run raises while loading (anything else is a bug and propagates)
LOAD_ERRORS = (ConfigError, OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile)


class ModelSlot(Generic[T]):
    """Holds the loaded model of `family` (optionally wrapped, e.g. into score tables) for one app."""

    def __init__(self, family: str, artifacts: Path, unavailable: type[ModelUnavailable], what: str,
                 wrap: Callable[[Any], T] | None = None) -> None:
        self.family, self.artifacts, self.unavailable, self.what = family, artifacts, unavailable, what
        self._wrap = wrap
        self._model: T | None = None
        self.error = "not loaded yet"
        self._tried = 0.0
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Try to load the latest run; True on success. Errors are kept for the 503 message, never raised."""
        from gnn.pipeline.registry import get_family

        with self._lock:
            self._tried = time.monotonic()
            try:
                raw = get_family(self.family).load(None, self.artifacts)
                self._model = self._wrap(raw) if self._wrap is not None else raw
                self.error = ""
                log.info("%s model %s loaded", self.family, getattr(self._model, "model_run", "?"))
            except LOAD_ERRORS as exc:
                self._model, self.error = None, str(exc)
                log.warning("no %s model: %s", self.family, exc)
        return self._model is not None

    def get(self) -> T:
        """The loaded model; looks again at most every RETRY_SECONDS while there is none."""
        if self._model is None and time.monotonic() - self._tried > RETRY_SECONDS:
            self.load()
        if self._model is None:
            raise self.unavailable(f"{self.what} unavailable: {self.error} "
                                   f"(train one with `medkg train {self.family}`)")
        return self._model

    def peek(self) -> T | None:
        """The loaded model or None, without retrying or raising (for optional enrichments)."""
        return self._model
