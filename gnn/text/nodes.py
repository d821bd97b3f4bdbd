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


# --- model text: the drug text without what the drug is for ---------------------------------------------------
# A DrugBank description often states the drug's indications ("used to treat hypertension"); a model that
# claims to find new uses must not read them (issue 13). Search and display keep the full text.
MODEL_TAG_NOIND = MODEL_TAG + "/noind/v1"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[0-9])")
# sentences that say what a drug treats, is indicated / used / approved for, manages, prevents or relieves
_INDICATION = re.compile(
    r"\b(indicat\w*|treat\w*|therap\w*\s+(?:for|of|in)|used\s+(?:in|for|to|as|with|against)|uses?\s+(?:in|for)|"
    r"useful\s+(?:in|for)|manag\w*|prevention|to\s+prevent|prophyla\w*|reliev\w*|relief|alleviat\w*|cur(?:e|es|ed|ing)\b|"
    r"approved|licensed|prescribed|effective\s+(?:in|for|against)|efficacy|symptomatic|remed\w*|"
    r"control\s+of|first-line|second-line|adjunct\w*|patients?\s+with)", re.I)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
MIN_NAME_CHARS = 4  # shorter disease names/synonyms ("AD", "flu") match too much ordinary text


def _norm(name: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(name))


class NameMatcher:
    """Finds mentions of a set of names (e.g. every graph Disease name and synonym) in text, word-aligned and
    case-insensitive, by looking up word n-grams in a set (fast for thousands of names, unlike one regex)."""

    def __init__(self, names: list[str] | tuple[str, ...] | set[str]) -> None:
        self.names = {n for n in (_norm(x) for x in names) if len(n) >= MIN_NAME_CHARS}
        self.max_words = max((n.count(" ") + 1 for n in self.names), default=0)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the longest name mention starting at each word (non-overlapping, in order)."""
        words = list(_WORD.finditer(text))
        out: list[tuple[int, int]] = []
        i = 0
        while i < len(words):
            for n in range(min(self.max_words, len(words) - i), 0, -1):
                if " ".join(w.group().lower() for w in words[i:i + n]) in self.names:
                    out.append((words[i].start(), words[i + n - 1].end()))
                    i += n
                    break
            else:
                i += 1
        return out

    def remove(self, text: str) -> str:
        for s, e in reversed(self.spans(text)):
            text = text[:s] + text[e:]
        return re.sub(r"\s+([,.;:])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()

    def mentions(self, text: str, name: str) -> bool:
        """Does `text` mention `name` (word-aligned, case-insensitive)?"""
        target = _norm(name)
        words = [w.lower() for w in _WORD.findall(text)]
        k = target.count(" ") + 1
        return bool(target) and any(" ".join(words[i:i + k]) == target for i in range(len(words) - k + 1))


def strip_indications(text: str, diseases: NameMatcher | None = None) -> str:
    """`text` without its indication sentences and (with `diseases`) without any disease name mention."""
    kept = [s for s in _SENTENCE.split(text) if not _INDICATION.search(s)]
    out = " ".join(kept)
    return diseases.remove(out) if diseases is not None else out


def model_text(label: str, props: Mapping[str, Any], diseases: NameMatcher | None = None) -> str:
    """The text a model reads for a node: for a Drug, `node_text` with the description's indication sentences
    and disease-name mentions removed (name and synonyms are kept); every other label, `node_text` itself."""
    if label != "Drug" or not props.get("description"):
        return node_text(label, props)
    desc = strip_indications(_clean(str(props["description"])), diseases)[:MAX_DESCRIPTION_CHARS]
    return node_text(label, {**props, "description": desc or None})


def model_text_hash(text: str) -> str:
    """Hash of a model text; stored as `n.model_text_hash` beside `n.model_embedding`."""
    return hashlib.sha256(f"{MODEL_TAG_NOIND}\n{text}".encode()).hexdigest()[:32]
