"""Free-text complaint → the findings it mentions (DDXPlus evidences, MeSH symptoms), by embedding.

The complaint is cut into sentences and clauses; each candidate (id, text) gets the best cosine over
those pieces, and the candidates above a threshold are returned, best first, with the piece that matched.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gnn.text.encoder import TextEncoder, get_encoder
from gnn.text.sentences import split_clauses, split_sentences
from kg.errors import SourceDataError
from kg.settings import get_settings

DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True)
class Finding:
    id: str
    text: str
    score: float
    matched: str

    def as_dict(self) -> dict:
        return asdict(self)


def _question_to_statement(question: str) -> str:
    """'Do you have a fever (either felt or measured…)?' → 'I have a fever': closer to how people write."""
    q = re.sub(r"\s*\([^)]*\)", "", question).strip().rstrip("?").strip()
    for pat, rep in ((r"^(do|did) you\b", "I"), (r"^(are|were) you\b", "I am"), (r"^have you\b", "I have"),
                     (r"^is your\b", "my"), (r"^does your\b", "my"), (r"^(is|are) there\b", "there is")):
        q2 = re.sub(pat, rep, q, flags=re.IGNORECASE)
        if q2 != q:
            q = q2
            break
    q = re.sub(r"\b(wakes?|makes?|causes?|bother|prevents?|keeps?) you\b", r"\1 me", q, flags=re.IGNORECASE)
    for pat, rep in ((r"\byour\b", "my"), (r"\byourself\b", "myself"), (r"\byou're\b", "I'm"),
                     (r"\byou\b", "I"), (r"\bI are\b", "I am"), (r"\bwere I\b", "was I"), (r"\bI were\b", "I was")):
        q = re.sub(pat, rep, q, flags=re.IGNORECASE)
    return q


def ddxplus_candidates(path: Path | None = None, include_antecedents: bool = False) -> list[tuple[str, str]]:
    """(evidence code, English question as a statement) for DDXPlus evidences (symptoms by default)."""
    path = path or get_settings().medkg_data_dir / "ddxplus" / "release_evidences.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SourceDataError(f"{path}: cannot read DDXPlus evidences: {exc}") from exc
    out = []
    for code, ev in sorted(data.items()):
        if ev.get("is_antecedent") and not include_antecedents:
            continue
        question = ev.get("question_en")
        if question:
            out.append((code, _question_to_statement(question)))
    return out


def mesh_symptom_candidates(path: Path | None = None) -> list[tuple[str, str]]:
    """(MeSH id, name) for the MeSH symptom descriptors ('Abdomen, Acute' → 'Acute Abdomen')."""
    path = path or get_settings().medkg_data_dir / "ontologies" / "mesh-2015" / "symptoms.tsv"
    if not path.exists():
        raise SourceDataError(f"{path}: MeSH symptom list not found")
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            name = row["mesh_name"]
            if ", " in name and name.count(",") == 1:
                head, tail = name.split(", ")
                name = f"{tail} {head}"
            out.append((row["mesh_id"], name))
    return out


class FindingMatcher:
    """Embeds the candidates once; `match(complaint)` returns the findings the complaint mentions."""

    def __init__(self, candidates: list[tuple[str, str]], encoder: TextEncoder | None = None,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        if not candidates:
            raise ValueError("FindingMatcher needs at least one (id, text) candidate")
        self.encoder = encoder or get_encoder()
        self.ids = [c[0] for c in candidates]
        self.texts = [c[1] for c in candidates]
        self.vectors = self.encoder.encode(self.texts)
        self.threshold = threshold

    def match(self, complaint: str, threshold: float | None = None, limit: int = 20) -> list[Finding]:
        thr = self.threshold if threshold is None else threshold
        pieces = list(dict.fromkeys(split_sentences(complaint) + split_clauses(complaint)))
        if not pieces:
            return []
        sims = self.encoder.encode(pieces) @ self.vectors.T  # (pieces, candidates)
        best_piece = sims.argmax(axis=0)
        best = sims.max(axis=0)
        order = np.argsort(-best)
        out = [Finding(self.ids[j], self.texts[j], round(float(best[j]), 4), pieces[best_piece[j]])
               for j in order if best[j] >= thr]
        return out[:limit]

