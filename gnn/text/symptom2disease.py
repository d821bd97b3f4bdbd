"""Symptom2Disease: free-text complaints with 24 disease labels; loading, de-duplication, splits."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kg.errors import SourceDataError
from kg.settings import get_settings

RELATIVE_PATH = Path("symptom2disease") / "Symptom2Disease.csv"


@dataclass(frozen=True)
class Dataset:
    texts: list[str]
    labels: list[str]
    duplicates_dropped: int

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))


def default_path() -> Path:
    return get_settings().medkg_data_dir / RELATIVE_PATH


def dedup_key(text: str) -> str:
    """Texts equal up to case and whitespace count as one."""
    return re.sub(r"\s+", " ", text).strip().lower()


def load(path: Path | None = None) -> Dataset:
    """Read the CSV (columns label, text); identical texts are kept once, so no copy crosses a split."""
    path = path or default_path()
    if not path.exists():
        raise SourceDataError(f"{path}: Symptom2Disease file not found (set MEDKG_DATA_DIR)")
    texts: list[str] = []
    labels: list[str] = []
    seen: dict[str, str] = {}
    dropped = 0
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"label", "text"} - set(reader.fieldnames or [])
        if missing:
            raise SourceDataError(f"{path}: missing column(s) {sorted(missing)}; found {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            text, label = (row["text"] or "").strip(), (row["label"] or "").strip()
            if not text or not label:
                raise SourceDataError(f"{path}, line {line}: empty {'text' if not text else 'label'}")
            key = dedup_key(text)
            if key in seen:
                if seen[key] != label:
                    raise SourceDataError(f"{path}, line {line}: text also labelled {seen[key]!r}, here {label!r}")
                dropped += 1
                continue
            seen[key] = label
            texts.append(text)
            labels.append(label)
    return Dataset(texts, labels, dropped)


def stratified_split(labels: list[str], test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train/test row indices, stratified by label (sklearn, fixed seed)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=labels)
    return np.sort(train), np.sort(test)
