"""Sentence splitting for complaints (no model: punctuation and a few joining words)."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_CLAUSE = re.compile(r",\s*(?:and|but|also|plus)\s+|,\s+|\s+(?:and also|as well as|and|but|with)\s+", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, stripped, empty ones dropped; the whole text if it has no punctuation."""
    parts = [p.strip() for p in _SENTENCE_END.split(text or "")]
    parts = [p for p in parts if p and any(c.isalnum() for c in p)]
    return parts or ([text.strip()] if text and text.strip() else [])


def split_clauses(text: str) -> list[str]:
    """Sentences further cut at commas and 'and'/'but'/'with' joins: one symptom per piece, more or less."""
    out: list[str] = []
    for sentence in split_sentences(text):
        out.extend(p.strip(" ,.") for p in _CLAUSE.split(sentence) if p.strip(" ,."))
    return out
