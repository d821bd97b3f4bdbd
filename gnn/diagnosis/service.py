"""`Diagnoser`: load the trained model once, score patients, explain each candidate with graph evidence."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from gnn.artifacts_io import ArtefactBatch
from gnn.diagnosis.baseline import GRAPH_CLIP, GRAPH_WEIGHT, GraphBaseline, graph_bonus
from gnn.diagnosis.findings import Patient, parse_patient
from gnn.diagnosis.knowledge import Knowledge, default_knowledge
from gnn.diagnosis.model import FindingsAttention, ModelConfig, build_model, pad_batch, train_model
from gnn.diagnosis.patients import PatientRow
from gnn.diagnosis.vocab import Vocab
from kg.errors import ConfigError
from kg.settings import get_settings

FILES = ("model.pt", "vocab.json", "config.json", "metrics.json")


def artifacts_dir() -> Path:
    """The diagnosis family's store folder (run folders and the `latest` pointer)."""
    return get_settings().medkg_artifacts / "diagnosis"


@dataclass
class EvidenceRef:
    """A DDXPlus evidence as the API shows it: code (with value), its question and the value's meaning."""

    code: str
    evidence: str
    question: str
    value: str | None = None


@dataclass
class Candidate:
    """One pathology of the differential with the findings for and the expected findings missing."""

    disease: str
    probability: float
    icd10: str
    severity: int
    supporting: list[EvidenceRef]
    absent: list[EvidenceRef]


@dataclass
class DiagnosisResult:
    """Ranked differential (probabilities descending), parsed findings, inputs that matched nothing."""

    ranked: list[Candidate]
    findings: list[str]
    unrecognised: list[str]
    attention: dict[str, float] = field(default_factory=dict)
    model: str = "attention+graph"
    #: the differential a user gets: candidates with probability ≥ this (chosen by cross-fitting, docs)
    threshold: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class Diagnoser:
    """The attention model over findings, ensembled with the graph baseline (bounded graph bonus)."""

    def __init__(self, model: FindingsAttention, vocab: Vocab, kb: Knowledge, cfg: ModelConfig,
                 links: Mapping[str, Mapping[str, float]] | None = None, metrics: dict | None = None,
                 graph_weight: float = GRAPH_WEIGHT, graph_clip: float = GRAPH_CLIP,
                 threshold: float | None = None) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self.kb = kb
        self.cfg = cfg
        self.metrics = metrics or {}
        self.graph_weight, self.graph_clip, self.threshold = graph_weight, graph_clip, threshold
        self.graph = GraphBaseline(links if links is not None else kb.links, kb.evidences)
        if self.graph.pathologies != kb.pathologies:
            raise ConfigError("the graph links name other pathologies than the DDXPlus release")
        # Per-pathology explanation lists, precomputed for low latency.
        self._linked = {p: set(self.graph.links[p]) for p in kb.pathologies}

    # ----- training and persistence -------------------------------------------------------------------
    @classmethod
    def train(cls, rows: list[PatientRow], kb: Knowledge | None = None, cfg: ModelConfig | None = None,
              progress: bool = False) -> Diagnoser:
        """Fit the attention model on labelled patients (soft targets, random evidence dropout)."""
        from gnn.diagnosis.evaluate import soft_targets

        kb = kb or default_knowledge()
        cfg = cfg or ModelConfig()
        vocab = Vocab.from_knowledge(kb)
        model = build_model(vocab, len(kb.pathologies), cfg)
        t0 = time.perf_counter()
        losses = train_model(model, [vocab.encode(r.patient) for r in rows], soft_targets(rows, kb, cfg.soft_mix),
                             cfg, progress=progress)
        metrics = {"n_patients": len(rows), "train_seconds": round(time.perf_counter() - t0, 1),
                   "final_loss": round(losses[-1], 4), "losses": [round(x, 4) for x in losses]}
        return cls(model, vocab, kb, cfg, metrics=metrics)

    def write_files(self, out: ArtefactBatch, folder: Path) -> None:
        """Add the model's files to a run folder being saved by the artefact store."""
        config = {"model": self.cfg.to_dict(), "pathologies": list(self.kb.pathologies),
                  "ensemble": {"graph_weight": self.graph_weight, "graph_clip": self.graph_clip},
                  "differential_threshold": self.threshold}
        out.torch(folder / "model.pt", self.model.state_dict())
        out.json(folder / "vocab.json", self.vocab.to_dict())
        out.json(folder / "config.json", config, indent=2)
        out.json(folder / "metrics.json", self.metrics, indent=2)

    @classmethod
    def exists(cls, folder: Path) -> bool:
        return all((folder / f).exists() for f in FILES[:3])

    @classmethod
    def load(cls, folder: Path, kb: Knowledge | None = None,
             links: Mapping[str, Mapping[str, float]] | None = None) -> Diagnoser:
        """Load the files of one run folder (weights_only); `links` {pathology: {evidence: weight}} may come
        from Neo4j. Callers go through `DiagnosisFamily.load`, which checks the run's manifest first."""
        missing = [f for f in FILES[:3] if not (folder / f).exists()]
        if missing:
            raise ConfigError(f"diagnosis model run {folder} is incomplete: missing {', '.join(missing)}; "
                              "retrain with `medkg train diagnosis`")
        kb = kb or default_knowledge()
        config = json.loads((folder / "config.json").read_text())
        if tuple(config["pathologies"]) != kb.pathologies:
            raise ConfigError(f"{folder}/config.json was trained on other pathologies; retrain the model")
        cfg = ModelConfig(**config["model"])
        vocab = Vocab.from_dict(json.loads((folder / "vocab.json").read_text()))
        model = build_model(vocab, len(kb.pathologies), cfg)
        model.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
        metrics_file = folder / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
        ens = config.get("ensemble", {})
        return cls(model, vocab, kb, cfg, links=links, metrics=metrics,
                   graph_weight=float(ens.get("graph_weight", GRAPH_WEIGHT)),
                   graph_clip=float(ens.get("graph_clip", GRAPH_CLIP)),
                   threshold=config.get("differential_threshold"))

    # ----- scoring ------------------------------------------------------------------------------------
    @torch.inference_mode()
    def _logits(self, patients: list[Patient]) -> tuple[np.ndarray, torch.Tensor]:
        logits, attn = self.model(pad_batch([self.vocab.encode(p) for p in patients]), return_attention=True)
        return logits.numpy().astype(np.float64), attn

    def predict_proba(self, patients: list[Patient], batch_size: int = 512) -> np.ndarray:
        """Ensemble probabilities [N, P] (columns in `kb.pathologies` order)."""
        out = []
        for i in range(0, len(patients), batch_size):
            chunk = patients[i : i + batch_size]
            logits, _ = self._logits(chunk)
            s = logits + graph_bonus(self.graph.log_scores([p.evidences for p in chunk]), self.graph_weight,
                                     self.graph_clip)
            s -= s.max(axis=1, keepdims=True)
            e = np.exp(s)
            out.append(e / e.sum(axis=1, keepdims=True))
        return np.concatenate(out) if out else np.zeros((0, len(self.kb.pathologies)))

    def _ref(self, code: str, evidence: str, value: str | None) -> EvidenceRef:
        info = self.kb.evidences[evidence]
        meaning = info.value_meaning.get(value, value) if value is not None else None
        return EvidenceRef(code=code, evidence=evidence, question=info.question, value=meaning)

    def explain(self, patient: Patient, probs: np.ndarray, top: int | None = None) -> list[Candidate]:
        order = np.argsort(-probs, kind="stable")[: top or len(probs)]
        reported = patient.evidences
        out = []
        for j in order:
            name = self.kb.pathologies[j]
            linked = self._linked[name]
            supporting = [self._ref(f.token, f.evidence, f.value) for f in patient.findings
                          if f.evidence in linked and not f.default]
            absent = [self._ref(e, e, None) for e in sorted(linked - reported)]
            out.append(Candidate(disease=name, probability=float(probs[j]), icd10=self.kb.icd10[name],
                                 severity=self.kb.severity[name], supporting=supporting, absent=absent))
        return out

    def diagnose(self, age: int, sex: str, findings: list[str], symptom_names: list[str] | None = None,
                 top: int | None = None) -> DiagnosisResult:
        """Ranked differential for one patient; raises InvalidInput on empty findings or bad age/sex."""
        patient = parse_patient(age, sex, findings, self.kb, symptom_names)
        logits, attn = self._logits([patient])
        s = logits[0] + graph_bonus(self.graph.log_scores([patient.evidences]), self.graph_weight,
                                    self.graph_clip)[0]
        probs = np.exp(s - s.max())
        probs /= probs.sum()
        weights = attn[0, 3 : 3 + len(patient.findings)].tolist()
        return DiagnosisResult(
            ranked=self.explain(patient, probs, top),
            findings=patient.tokens,
            unrecognised=patient.unrecognised,
            attention={t: round(w, 4) for t, w in zip(patient.tokens, weights, strict=True)},
            threshold=self.threshold,
        )
