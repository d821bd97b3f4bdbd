"""Diagnosis for the API: the Diagnoser fed with the graph's Pathology->Evidence links, every candidate
explained with the graph edges behind it, free text mapped to findings, and a safe start-up.

Start-up never fails because of the model: no artefact under `$MEDKG_ARTIFACTS/diagnosis` -> the graph
baseline (reported in `model`); an incomplete or unreadable artefact -> `error` (the routes answer 503 with
it) while the rest of the API serves.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from neo4j import Driver

from api.services.db import run_read
from api.services.errors import ENCODER_MISSING, UNREADABLE_ARTEFACT, QueryTimeout
from gnn.diagnosis.baseline import GraphBaseline
from gnn.diagnosis.findings import match_symptom, parse_finding, parse_patient
from gnn.diagnosis.knowledge import Knowledge, default_knowledge
from gnn.diagnosis.service import FILES, Diagnoser, DiagnosisResult, EvidenceRef
from kg.errors import DatabaseUnavailable, InvalidInput, ModelUnavailable
from kg.settings import Settings

log = logging.getLogger(__name__)

BASELINE_NAME = "graph-baseline"
BASELINE_VERSION = "naive-bayes-links/1"
TEXT_MODULE = "gnn.text.findings"
CACHE_SIZE = 2048  # cached per-patient answers
GRAPH_RETRY_SECONDS = 30.0  # while the graph was unreadable at start-up, how often requests retry it
MESH_ID = re.compile(r"^(?:MESH:)?(D\d{6,9})$", re.IGNORECASE)

LINKS_QUERY = """
MATCH (p:Pathology)-[r:HAS_SYMPTOM|HAS_ANTECEDENT]->(e:Evidence)
RETURN p.id AS pathology, e.id AS evidence, type(r) AS type, r.weight AS weight,
       r.sources AS sources, r.licenses AS licenses, r.source_versions AS source_versions"""
PATHOLOGY_QUERY = """
MATCH (p:Pathology)
RETURN p.id AS id, p.name AS name, COLLECT {
  MATCH (p)-[m:MAPS_TO]->(d:Disease)
  RETURN {id: d.id, name: d.name, method: m.method, score: m.score, sources: m.sources, licenses: m.licenses}
} AS diseases"""


class DiagnosisUnavailable(ModelUnavailable):
    """The diagnosis model could not be loaded; the message says why (HTTP 503)."""


class BaselineDiagnoser(Diagnoser):
    """The graph baseline alone (naive Bayes over the links) behind the Diagnoser interface."""

    def __init__(self, kb: Knowledge, links: Mapping[str, Mapping[str, float]]) -> None:
        self.model = None
        self.vocab = None
        self.cfg = None
        self.kb = kb
        self.metrics = {}
        self.graph = GraphBaseline(links, kb.evidences)
        self._linked = {p: set(self.graph.links[p]) for p in kb.pathologies}

    def predict_proba(self, patients, batch_size: int = 512) -> np.ndarray:
        return self.graph.predict_proba([p.evidences for p in patients])

    def diagnose(self, age, sex, findings, symptom_names=None, top=None) -> DiagnosisResult:
        patient = parse_patient(age, sex, findings, self.kb, symptom_names)
        probs = self.predict_proba([patient])[0]
        return DiagnosisResult(ranked=self.explain(patient, probs, top), findings=patient.tokens,
                               unrecognised=patient.unrecognised, attention={}, model=BASELINE_NAME)


@dataclass
class GraphKnowledge:
    """What the graph says about pathologies: links (with provenance) and MAPS_TO diseases."""

    links: dict[str, dict[str, float]]
    edges: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pathologies: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "graph"

    @classmethod
    def from_graph(cls, driver: Driver, database: str) -> GraphKnowledge:
        links: dict[str, dict[str, float]] = {}
        edges: dict[tuple[str, str], dict[str, Any]] = {}
        for r in run_read(driver, database, LINKS_QUERY, timeout=30):
            weight = float(r["weight"]) if r["weight"] is not None else 1.0
            links.setdefault(r["pathology"], {})[r["evidence"]] = weight
            edges[(r["pathology"], r["evidence"])] = {
                "type": r["type"], "from": r["pathology"], "to": r["evidence"],
                "sources": r["sources"] or [], "licenses": r["licenses"] or [],
                "source_versions": r["source_versions"] or []}
        pathologies = {r["id"]: {"name": r["name"], "diseases": r["diseases"]}
                       for r in run_read(driver, database, PATHOLOGY_QUERY, timeout=30)}
        return cls(links, edges, pathologies)


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


class DiagnosisService:
    """One per app: the Diagnoser (or the baseline, or the load error), graph knowledge, text matcher."""

    def __init__(self, settings: Settings, driver: Driver | None) -> None:
        self.settings, self.driver = settings, driver
        self.folder = settings.medkg_artifacts / "diagnosis"
        self.error: str | None = None
        self.model_info: dict[str, Any] = {}
        self.diagnoser: Diagnoser | None = None
        self.kb: Knowledge | None = None
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._matcher = None
        self._next_retry = time.monotonic() + GRAPH_RETRY_SECONDS
        self.cache: dict[tuple, dict] = {}  # (patient id, findings, top) -> answer; evicted on delete
        try:
            self.kb = default_knowledge(settings.medkg_data_dir)
        except UNREADABLE_ARTEFACT as exc:  # DDXPlus files missing or unreadable
            self.error = f"diagnosis unavailable: cannot read the DDXPlus knowledge ({exc})"
            log.error("%s", self.error)
            self.graph = GraphKnowledge(links={}, source="none")
            return
        self.graph = self._graph_knowledge()  # each step keeps its expected failures (graph down, bad artefact)
        self._load()  # as `error`, so start-up never fails because of diagnosis

    # ----- loading ------------------------------------------------------------------------------------
    def _graph_knowledge(self) -> GraphKnowledge:
        try:
            if self.driver is None:
                raise DatabaseUnavailable("no driver")
            g = GraphKnowledge.from_graph(self.driver, self.settings.neo4j_database)
            if set(g.links) == set(self.kb.pathologies):
                return g
            why = f"the graph links {len(g.links)} of {len(self.kb.pathologies)} DDXPlus pathologies"
        except (DatabaseUnavailable, QueryTimeout) as exc:  # Neo4j down: serve from the DDXPlus files, retry later
            why = f"graph not readable at start-up ({str(exc)[:200]})"
        log.warning("diagnosis: %s; using the DDXPlus release's links until the graph answers", why)
        return GraphKnowledge(links=self.kb.links, source=f"ddxplus files ({why})")

    def _load(self) -> None:
        """The latest run of the diagnosis family (gnn/diagnosis/family.py), or the graph baseline if none."""
        from gnn.pipeline.registry import get_family

        family = get_family("diagnosis")
        store = family.store(self.settings.medkg_artifacts)
        if store.latest_name() is None and not any((self.folder / f).exists() for f in FILES[:3]):
            self.diagnoser = BaselineDiagnoser(self.kb, self.graph.links)
            self.model_info = {"name": BASELINE_NAME, "version": BASELINE_VERSION, "links": self.graph.source,
                               "note": f"no trained model under {self.folder}; answers come from the graph "
                                       "baseline (naive Bayes over Pathology-HAS_SYMPTOM/HAS_ANTECEDENT links); "
                                       "run `medkg train diagnosis` for the attention+graph model"}
            log.warning("diagnosis: %s", self.model_info["note"])
            return
        try:
            if store.latest_name() is None:  # model files directly in the folder: the layout before the store
                raise ValueError("outdated layout (model files outside a run folder, no `latest` run)")
            self.diagnoser = family.load(None, self.settings.medkg_artifacts, kb=self.kb, links=self.graph.links)
        except UNREADABLE_ARTEFACT as exc:
            self.diagnoser = None
            self.error = (f"diagnosis model artefact in {self.folder} is unusable ({type(exc).__name__}: "
                          f"{str(exc)[:300]}); retrain it with `medkg train diagnosis` or remove the folder "
                          "to serve the graph baseline")
            log.error("diagnosis: %s", self.error)
            return
        run = self.diagnoser.run
        self.model_info = {"name": "attention+graph", "version": f"sha256:{_sha(Path(run.folder) / 'model.pt')}",
                           "run": run.model_run, "artefact": run.folder, "links": self.graph.source,
                           "trained_on": run.metrics.get("n_patients"),
                           "train_data": self.diagnoser.metrics.get("train_data"),
                           "differential_threshold": self.diagnoser.threshold,
                           "graph_weight": self.diagnoser.graph_weight}

    def _refresh_graph(self) -> None:
        """If the graph was not readable at start-up, try again (at most every 30 s) and re-link the model."""
        if self.graph.source == "graph" or self.diagnoser is None or time.monotonic() < self._next_retry:
            return
        with self._lock:
            if self.graph.source == "graph" or time.monotonic() < self._next_retry:
                return
            self._next_retry = time.monotonic() + GRAPH_RETRY_SECONDS
            try:
                g = GraphKnowledge.from_graph(self.driver, self.settings.neo4j_database)
            except (DatabaseUnavailable, QueryTimeout):
                return
            if set(g.links) != set(self.kb.pathologies):
                return
            self.graph = g
            self._load()

    def require(self) -> Diagnoser:
        if self.diagnoser is None or self.kb is None:
            raise DiagnosisUnavailable(self.error or "diagnosis model not loaded")
        self._refresh_graph()
        return self.diagnoser

    # ----- inputs ---------------------------------------------------------------------------------
    def _symptoms(self, names: list[str]) -> tuple[list[str], list[dict], list[dict]]:
        """Symptom names or MeSH ids -> evidence codes; (codes, resolved, unrecognised)."""
        codes, resolved, unknown = [], [], []
        for i, raw in enumerate(names):
            text = str(raw).strip()
            mesh = MESH_ID.match(text)
            name = text
            if mesh:
                name = self._mesh_name(mesh.group(1).upper())
                if name is None:
                    unknown.append({"input": raw, "field": f"symptoms[{i}]", "reason": "unknown MeSH id"})
                    continue
            finding = match_symptom(name, self.kb)
            if finding is None:
                why = (f"MeSH symptom {name!r} matches no DDXPlus question" if mesh
                       else "matches no DDXPlus question")
                unknown.append({"input": raw, "field": f"symptoms[{i}]", "reason": why})
                continue
            codes.append(finding.token)
            resolved.append({"input": raw, "evidence": finding.token, **({"mesh_name": name} if mesh else {}),
                             "question": self.kb.evidences[finding.evidence].question})
        return codes, resolved, unknown

    def _mesh_name(self, mesh_id: str) -> str | None:
        if self.driver is None:
            return None
        rows = run_read(self.driver, self.settings.neo4j_database,
                        "MATCH (s:Symptom {id: $id}) RETURN s.name AS name", {"id": mesh_id})
        if not rows:
            return None
        name = rows[0]["name"] or ""
        if name.count(", ") == 1:  # 'Abdomen, Acute' -> 'Acute Abdomen'
            head, tail = name.split(", ")
            name = f"{tail} {head}"
        return name

    def text_available(self) -> bool:
        return importlib.util.find_spec(TEXT_MODULE) is not None

    def _text(self, text: str) -> tuple[list[str], dict]:
        """Free text -> evidence codes via gnn.text.findings (sentence embeddings), with the matched spans."""
        if not self.text_available():
            return [], {"input": text, "status": "unprocessed",
                        "reason": f"free-text matching ({TEXT_MODULE}) is not installed; the text was not used"}
        try:
            matcher = self._text_matcher()
            found = matcher.match(text)
        except ENCODER_MISSING as exc:  # encoder missing, model files missing: say so, never drop silently
            log.error("diagnosis: free-text matching failed: %s", exc)
            return [], {"input": text, "status": "unprocessed", "reason": f"free-text matching failed: {exc}"}
        matches = [{"evidence": f.id, "question": self.kb.evidences[f.id].question, "span": f.matched,
                    "score": f.score} for f in found]
        return [m["evidence"] for m in matches], {"input": text, "status": "processed", "matches": matches,
                                                  "method": f"{TEXT_MODULE} (all-MiniLM-L6-v2 cosine "
                                                            f">= {matcher.threshold})"}

    def _text_matcher(self):
        with self._lock:
            if self._matcher is None:
                from gnn.text.findings import FindingMatcher, ddxplus_candidates

                path = self.settings.medkg_data_dir / "ddxplus" / "release_evidences.json"
                binary = [(c, t) for c, t in ddxplus_candidates(path)
                          if c in self.kb.evidences and self.kb.evidences[c].data_type == "B"]
                self._matcher = FindingMatcher(binary)
            return self._matcher

    # ----- answers --------------------------------------------------------------------------------
    def _ref(self, pathology: str, ref: EvidenceRef) -> dict[str, Any]:
        edge = self.graph.edges.get((pathology, ref.evidence))
        return {"code": ref.code, "evidence": ref.evidence, "question": ref.question, "value": ref.value,
                "edge": edge}

    def diagnose(self, age: object, sex: object, evidences: list[str], symptoms: list[str] | None = None,
                 text: str | None = None, top: int | None = None) -> dict[str, Any]:
        """The API answer: ranked differential, each candidate with its supporting/absent findings and edges."""
        dx = self.require()
        if not evidences and not symptoms and not (text and text.strip()):
            raise InvalidInput("findings: empty; give evidences (e.g. E_91), symptoms or text", "evidences")
        sym_codes, sym_resolved, unknown = self._symptoms(symptoms or [])
        text_codes, text_info = self._text(text) if text and text.strip() else ([], None)
        unknown = [{"input": e, "field": f"evidences[{i}]", "reason": "unknown DDXPlus evidence code or value"}
                   for i, e in enumerate(evidences) if parse_finding(str(e), self.kb) is None] + unknown
        codes = [*evidences, *sym_codes, *text_codes]
        if not any(parse_finding(str(c), self.kb) for c in codes):
            shown = ", ".join(repr(u["input"]) for u in unknown) or "none"
            what = "; the text matched no finding" if text_info else ""
            raise InvalidInput(f"findings: none recognised (unrecognised: {shown}{what}); give DDXPlus evidence "
                               "codes (e.g. E_91) or symptom names", "evidences")
        res = dx.diagnose(age, sex, codes, top=top)
        differential = []
        for rank, c in enumerate(res.ranked, 1):
            info = self.graph.pathologies.get(c.disease, {})
            differential.append({
                "rank": rank, "pathology": c.disease, "name": info.get("name", c.disease),
                "probability": round(c.probability, 6), "icd10": c.icd10, "severity": c.severity,
                "in_differential": res.threshold is not None and c.probability >= res.threshold,
                "diseases": info.get("diseases", []),
                "supporting": [self._ref(c.disease, s) for s in c.supporting],
                "absent": [self._ref(c.disease, a) for a in c.absent]})
        return {"model": self.model_info, "findings": res.findings, "symptoms": sym_resolved,
                "text": text_info, "unrecognised": unknown, "attention": res.attention,
                "differential": differential}

    def diagnose_patient(self, patient_id: str, age: int, sex: str, evidences: list[str],
                         top: int | None = None) -> dict[str, Any]:
        """A stored patient's differential, cached per (patient, findings, top) until the patient is deleted."""
        key = (patient_id, age, sex, tuple(sorted(evidences)), top, self.model_info.get("version"))
        with self._cache_lock:
            hit = self.cache.get(key)
        if hit is not None:
            return {**hit, "cached": True}
        answer = self.diagnose(age, sex, evidences, top=top)
        with self._cache_lock:
            while len(self.cache) >= CACHE_SIZE:  # oldest first
                del self.cache[next(iter(self.cache))]
            self.cache[key] = answer
        return {**answer, "cached": False}

    def forget(self, patient_id: str) -> int:
        """Drop the cached predictions of a patient; how many were dropped."""
        with self._cache_lock:
            keys = [k for k in self.cache if k[0] == patient_id]
            for k in keys:
                del self.cache[k]
        return len(keys)
