"""`POST /ask` and `medkg ask`: the question-answering runtime (gnn/qa) wired to the API's one Neo4j gateway, the
drug lookup (names, synonyms, brands, typos), the vector indexes and the interaction check.

Built lazily, once per service, under a lock: the trained intent classifier (`medkg train qa`), the text encoder,
and the gazetteer of graph names read in one query. No model -> QAUnavailable (HTTP 503) saying how to train one.
The gazetteer is shared by every service of the process that reads the same graph state (server, database,
builds, node counts per linkable label and the relationship count: all read from Neo4j's count store in one cheap
query), so a second app on the same graph (tests build many) does not read every name again; any build, node or
relationship change reads them afresh.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from neo4j import Driver

from api.services.db import DEFAULT_TIMEOUT, run_read
from api.services.errors import ENCODER_MISSING
from api.services.memory import keep_long_lived
from api.services.state import Services
from gnn.qa.engine import QAEngine, gazetteer_query, relationship_types_query
from gnn.qa.linker import Gazetteer
from kg.errors import ConfigError, InvalidInput, ModelUnavailable
from kg.settings import Settings

log = logging.getLogger(__name__)
MAX_QUESTION = 1000
GAZETTEER_TIMEOUT = 300.0  # seconds: every name in the graph, read once per process (seconds on an idle machine)
GRAPH_STATE_QUERY = (
    "CALL () { MATCH (b:Build) RETURN collect(b.id + ':' + coalesce(b.status, '')) AS builds }\n"
    "CALL () { MATCH (n:Drug) RETURN count(n) AS drugs }\n"
    "CALL () { MATCH (n:Disease) RETURN count(n) AS diseases }\n"
    "CALL () { MATCH (n:Symptom) RETURN count(n) AS symptoms }\n"
    "CALL () { MATCH (n:SideEffect) RETURN count(n) AS side_effects }\n"
    "CALL () { MATCH (n:PharmacologicClass) RETURN count(n) AS classes }\n"
    "CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }\n"
    "RETURN builds, drugs, diseases, symptoms, side_effects, classes, relationships")
_GAZETTEERS: dict[tuple, Gazetteer] = {}  # graph state -> gazetteer, shared by the process's services
_GAZETTEERS_LOCK = threading.Lock()
GAZETTEER_CACHE = 4
VECTOR_QUERY = ("CALL db.index.vector.queryNodes($index, $k, $vec) YIELD node, score "
                "RETURN node.id AS id, node.name AS name, 2 * score - 1 AS cosine")


class QAUnavailable(ModelUnavailable):
    """No trained intent classifier (or no encoder for one that needs it): the message says what to do."""


class QAService:
    def __init__(self, settings: Settings, driver: Driver, services: Services) -> None:
        self.settings, self.driver, self.services = settings, driver, services
        self._engine: QAEngine | None = None
        self._lock = threading.Lock()

    def _read(self, query: str, params: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> list[dict[str, Any]]:
        return run_read(self.driver, self.services.database, query, params, timeout)

    def engine(self) -> QAEngine:
        if self._engine is not None:
            return self._engine
        with self._lock:
            if self._engine is None:
                self._engine = self._build()
        return self._engine

    def _build(self) -> QAEngine:
        from gnn.qa.family import QAFamily

        try:
            clf = QAFamily().load(None, self.settings.medkg_artifacts)
        except ConfigError as exc:
            raise QAUnavailable(f"question answering unavailable: {exc}") from exc
        encoder = None
        if clf.use_encoder:
            try:
                import torch

                from gnn.text.encoder import get_encoder

                encoder = get_encoder()
                torch.set_num_threads(1)  # one short sentence per request: more threads only add contention
            except ENCODER_MISSING as exc:  # package or files missing
                raise QAUnavailable(f"question answering needs the text encoder: {exc}") from exc
        gaz = self._gazetteer()
        types = {r["type"] for r in self._read(relationship_types_query(), {})}
        indexes = {r["name"] for r in self._read("SHOW VECTOR INDEXES YIELD name, state WHERE state = 'ONLINE' "
                                                 "RETURN name", {})}

        def vector(label: str, text: str, k: int) -> list[dict[str, Any]]:
            index = f"{label.lower()}_text"
            if encoder is None or index not in indexes:
                return []
            vec = [float(x) for x in encoder.encode([text])[0]]
            return self._read(VECTOR_QUERY, {"index": index, "k": k, "vec": vec})

        resolver = self.services.lookup.resolver

        def drug_match(text: str) -> tuple[str, str, float] | None:
            m = resolver.match(text)
            return None if m.resolution is None else (m.resolution.id, m.resolution.matched_name, m.resolution.score)

        def check(drug_ids: list[str]) -> dict[str, Any]:
            return self.services.interactions.check(drug_ids)

        log.info("qa engine ready: %d names, model run %s", len(gaz), getattr(clf, "model_run", None))
        return QAEngine(gaz, clf, self._read, encoder=encoder, vector=vector, drug_match=drug_match, check=check,
                        available_types=types, model_run=getattr(clf, "model_run", None))

    def _gazetteer(self) -> Gazetteer:
        """The gazetteer of the graph as it is now: from the process's cache when the graph state matches."""
        state = self._read(GRAPH_STATE_QUERY, {})[0]
        key = (self.settings.bolt_uri, self.services.database, tuple(sorted(state.pop("builds"))),
               tuple(sorted(state.items())))
        with _GAZETTEERS_LOCK:
            if key in _GAZETTEERS:
                return _GAZETTEERS[key]
            gaz = Gazetteer(self._read(gazetteer_query(), {}, GAZETTEER_TIMEOUT))
            while len(_GAZETTEERS) >= GAZETTEER_CACHE:
                _GAZETTEERS.pop(next(iter(_GAZETTEERS)))
            _GAZETTEERS[key] = gaz
            return gaz

    def ask(self, question: str) -> dict[str, Any]:
        if not question or not question.strip():
            raise InvalidInput("question is empty", "question")
        if len(question) > MAX_QUESTION:
            raise InvalidInput(f"question is longer than {MAX_QUESTION} characters", "question")
        return self.engine().ask(question)

    def warm(self) -> threading.Thread:
        def work() -> None:
            try:
                self.engine().ask("side effects of aspirin")
                keep_long_lived()  # the gazetteer and the classifier
            except Exception as exc:  # outermost boundary of the warm-up thread: the first request reports it
                log.info("qa engine not warmed: %s", exc)

        t = threading.Thread(target=work, name="medkg-qa-warm", daemon=True)
        t.start()
        return t
