"""The text that stands for a graph node when it is embedded, and its hash (for incremental updates)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

MODEL_TAG = "all-MiniLM-L6-v2/mean/v1"  # part of the hash: a new model or text recipe re-embeds everything
MAX_SYNONYMS = 8
MAX_DESCRIPTION_CHARS = 1000  # the encoder truncates at 256 tokens anyway
_CODE = re.compile(r"^[A-Z]{1,4}[_:]?\d+$")  # ids like E_91, D000006: not words worth embedding

# Long-text properties, first present wins: DrugBank description, DO definition, DDXPlus question.
_LONG_TEXT = ("description", "definition", "question_en", "question")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [str(v) for v in value if v is not None and str(v).strip()]


def _clean(text: str) -> str:
    # DO definitions write relations as results_in / derived_from; also squash whitespace.
    return re.sub(r"\s+", " ", text.replace("_", " ")).strip()


def node_text(label: str, props: Mapping[str, Any]) -> str:
    """One line of text for a node: name, synonyms (and brand names), then description/definition/question.

    Works for every label: Drug (description), Disease (definition), Symptom (MeSH name), Evidence
    (DDXPlus `question_en`), Pathology (condition name); falls back to the id when nothing else is there.
    """
    name = str(props.get("name") or "").strip()
    if not name and label == "Pathology":
        name = str(props.get("id") or "").strip()
    if _CODE.match(name):
        name = ""
    seen = {name.lower()} if name else set()
    synonyms: list[str] = []
    for s in _as_list(props.get("synonyms")) + _as_list(props.get("brand_names")):
        key = s.strip().lower()
        if key and key not in seen:
            seen.add(key)
            synonyms.append(s.strip())
        if len(synonyms) >= MAX_SYNONYMS:
            break
    long_text = next((str(props[k]) for k in _LONG_TEXT if props.get(k)), "")
    parts = []
    if name:
        parts.append(name)
    if synonyms:
        parts.append("also called " + ", ".join(synonyms))
    if long_text:
        parts.append(_clean(long_text)[:MAX_DESCRIPTION_CHARS])
    if not parts:
        parts.append(str(props.get("id") or ""))
    return ". ".join(p.rstrip(". ") for p in parts if p).strip()


def text_hash(text: str) -> str:
    """Hash of the text and the model tag; stored as `n.text_hash` beside `n.text_embedding`."""
    return hashlib.sha256(f"{MODEL_TAG}\n{text}".encode()).hexdigest()[:32]
