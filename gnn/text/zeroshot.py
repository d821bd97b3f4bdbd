"""Zero-shot complaint → disease: cosine between a complaint and disease names, no training on labels.

Each Symptom2Disease label is described by its own text plus, where one matches, the Disease Ontology
term's name and exact synonyms (HumanDO.obo). A complaint goes to the label whose description vectors
are nearest (max over the description strings).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from gnn.text.encoder import TextEncoder
from kg.settings import get_settings

DO_RELATIVE = Path("ontologies") / "disease-ontology" / "HumanDO.obo"

# Labels whose text is not itself a DO name or exact synonym, mapped by hand (checked against HumanDO.obo
# 2015-05-14). Jaundice (a sign) and drug reaction have no DO disease term and keep their label text only.
CURATED_DOID = {
    "Bronchial Asthma": "DOID:2841",  # asthma
    "Chicken pox": "DOID:8659",  # chickenpox
    "Dengue": "DOID:12205",  # dengue disease
    "Dimorphic Hemorrhoids": "DOID:9746",  # hemorrhoid
    "diabetes": "DOID:9351",  # diabetes mellitus
    "Cervical spondylosis": "DOID:2247",  # spondylosis
    "Fungal infection": "DOID:1563",  # dermatomycosis (the dataset's complaints are skin infections)
}
_SYN = re.compile(r'^synonym: "(.*)" (EXACT|RELATED|BROAD|NARROW)')


def read_do_terms(path: Path | None = None) -> dict[str, dict]:
    """DOID → {name, synonyms (EXACT only)} for non-obsolete terms of HumanDO.obo."""
    path = path or get_settings().medkg_data_dir / DO_RELATIVE
    terms: dict[str, dict] = {}
    cur: dict | None = None
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("["):
                cur = {"synonyms": []} if line == "[Term]" else None
                continue
            if cur is None:
                continue
            if line.startswith("id: "):
                cur["id"] = line[4:]
                terms[cur["id"]] = cur
            elif line.startswith("name: "):
                cur["name"] = line[6:]
            elif line.startswith('def: "'):
                cur["definition"] = line[6:].rsplit('" [', 1)[0].replace("_", " ")
            elif line == "is_obsolete: true":
                cur["obsolete"] = True
            elif (m := _SYN.match(line)) and m.group(2) == "EXACT":
                cur["synonyms"].append(m.group(1))
    return {k: v for k, v in terms.items() if not v.get("obsolete") and "name" in v}


def map_labels(labels: list[str], terms: dict[str, dict]) -> dict[str, dict | None]:
    """Label → DO term: the curated DOID, else a term whose name or exact synonym equals the label."""
    by_text: dict[str, str] = {}
    for doid, t in sorted(terms.items()):
        for s in [t["name"], *t["synonyms"]]:
            by_text.setdefault(s.lower(), doid)
    out: dict[str, dict | None] = {}
    for label in labels:
        doid = CURATED_DOID.get(label) or by_text.get(label.lower())
        out[label] = terms.get(doid) if doid else None
    return out


def _clean_synonym(s: str) -> str:
    return re.sub(r"\s*\((disorder|finding)\)$", "", s).strip()


def label_descriptions(labels: list[str], use_ontology: bool = True, do_path: Path | None = None,
                       max_synonyms: int = 5, definitions: bool = True) -> dict[str, list[str]]:
    """Label → the strings that describe it: the label text, plus the DO name, synonyms and definition."""
    mapped = map_labels(labels, read_do_terms(do_path)) if use_ontology else {}
    out = {}
    for label in labels:
        texts = [label]
        term = mapped.get(label)
        if term:
            for s in [term["name"], *(_clean_synonym(x) for x in term["synonyms"][:max_synonyms])]:
                if s.lower() not in {t.lower() for t in texts}:
                    texts.append(s)
            if definitions and term.get("definition"):
                texts.append(f"{term['name']}: {term['definition']}")
        out[label] = texts
    return out


class ZeroShot:
    """Nearest label description by cosine (max over each label's description strings)."""

    def __init__(self, descriptions: dict[str, list[str]], encoder: TextEncoder) -> None:
        self.labels = sorted(descriptions)
        strings = [(label, s) for label in self.labels for s in descriptions[label]]
        self.owner = np.array([self.labels.index(label) for label, _ in strings])
        self.vectors = encoder.encode([s for _, s in strings])

    def scores(self, X: np.ndarray) -> np.ndarray:
        """(n, n_labels) best cosine per label for complaint vectors X."""
        sims = X @ self.vectors.T
        out = np.full((X.shape[0], len(self.labels)), -1.0, dtype=np.float32)
        for j in range(len(self.labels)):
            out[:, j] = sims[:, self.owner == j].max(axis=1)
        return out

    def predict(self, X: np.ndarray) -> list[str]:
        return [self.labels[i] for i in self.scores(X).argmax(axis=1)]
