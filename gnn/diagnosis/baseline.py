"""Transparent graph baseline: Bernoulli naive Bayes over Pathology→Evidence links alone.

P(evidence reported | pathology) is `p_linked` for a linked evidence (scaled by the link weight) and
`p_unlinked` otherwise; the score of a pathology is the log-likelihood of the patient's reported and
unreported evidences, with a uniform prior (no patient data is used).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np


class GraphBaseline:
    """Naive Bayes over a plain mapping {pathology: {evidence: weight in (0, 1]}} (what Neo4j stores)."""

    def __init__(
        self,
        links: Mapping[str, Mapping[str, float]],
        evidences: Iterable[str] | None = None,
        p_linked: float = 0.5,
        p_unlinked: float = 0.01,
    ) -> None:
        self.pathologies = tuple(sorted(links))
        codes = set(evidences or ()) | {e for row in links.values() for e in row}
        self.evidences = tuple(sorted(codes))
        self.ev_index = {e: i for i, e in enumerate(self.evidences)}
        self.links = {p: dict(links[p]) for p in self.pathologies}
        w = np.zeros((len(self.pathologies), len(self.evidences)))
        for i, p in enumerate(self.pathologies):
            for e, weight in links[p].items():
                w[i, self.ev_index[e]] = min(max(float(weight), 0.0), 1.0)
        q = p_unlinked + (p_linked - p_unlinked) * w
        self.log_q = np.log(q).T  # [E, P]
        self.log_not_q = np.log1p(-q).T
        self.base = self.log_not_q.sum(axis=0)  # score of a patient reporting nothing

    def encode(self, evidence_sets: Iterable[Iterable[str]]) -> np.ndarray:
        """Multi-hot [N, E] of reported evidence codes (codes outside the graph are ignored)."""
        sets = list(evidence_sets)
        x = np.zeros((len(sets), len(self.evidences)))
        for r, codes in enumerate(sets):
            for e in codes:
                j = self.ev_index.get(e)
                if j is not None:
                    x[r, j] = 1.0
        return x

    def log_scores(self, evidence_sets: Iterable[Iterable[str]]) -> np.ndarray:
        """Log-likelihood [N, P] of each patient's evidences under each pathology."""
        x = self.encode(evidence_sets)
        return self.base + x @ (self.log_q - self.log_not_q)

    def predict_proba(self, evidence_sets: Iterable[Iterable[str]]) -> np.ndarray:
        s = self.log_scores(evidence_sets)
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        return p / p.sum(axis=1, keepdims=True)

    def explain(self, pathology: str, evidences: Iterable[str]) -> tuple[list[str], list[str]]:
        """(reported evidences linked to `pathology`, linked evidences not reported), sorted."""
        linked = self.links[pathology]
        reported = set(evidences)
        return sorted(reported & linked.keys()), sorted(linked.keys() - reported)


GRAPH_WEIGHT = 0.3  # ensemble: attention logits + GRAPH_WEIGHT * clipped graph log-likelihood
GRAPH_CLIP = 5.0  # nats below the graph's best candidate beyond which the graph stops discriminating


def graph_bonus(log_scores: np.ndarray, weight: float = GRAPH_WEIGHT, clip: float = GRAPH_CLIP) -> np.ndarray:
    """Bounded graph term to add to model logits: weight * max(log L - max log L, -clip), per patient.

    It moves the graph's near-best candidates up by at most weight * clip logits and leaves the order of
    the others (the tail of the differential) to the learned model.
    """
    rel = log_scores - log_scores.max(axis=-1, keepdims=True)
    return weight * np.maximum(rel, -clip)
