"""Complaint features from the encoder: whole-text vector and mean of sentence vectors, with a disk cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from gnn.text.encoder import DIM, TextEncoder, get_encoder
from gnn.text.nodes import MODEL_TAG
from gnn.text.sentences import split_sentences


def _key(text: str) -> str:
    return hashlib.sha1(f"{MODEL_TAG}\n{text}".encode()).hexdigest()


def _encode_uncached(texts: list[str], encoder: TextEncoder, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    whole = encoder.encode(texts, progress=progress)
    pieces: list[str] = []
    owner: list[int] = []
    for i, t in enumerate(texts):
        for s in split_sentences(t) or [""]:
            pieces.append(s)
            owner.append(i)
    sent = encoder.encode(pieces, progress=progress)
    mean = np.zeros((len(texts), DIM), dtype=np.float32)
    np.add.at(mean, np.asarray(owner), sent)
    norms = np.linalg.norm(mean, axis=1, keepdims=True)
    mean = mean / np.where(norms == 0, 1.0, norms)
    return whole, mean.astype(np.float32)


def encode_complaints(texts: list[str], encoder: TextEncoder | None = None, cache: Path | None = None,
                      progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(whole-text vectors, sentence-mean vectors), each (n, 384); cached by text hash in `cache` (.npz)."""
    stored: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            stored = dict(zip(z["keys"].tolist(), z["values"], strict=True))
    keys = [_key(t) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in stored}.items())
    if missing:
        whole, mean = _encode_uncached([t for _, t in missing], encoder or get_encoder(), progress)
        for (k, _), w, m in zip(missing, whole, mean, strict=True):
            stored[k] = np.stack([w, m])
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(list(stored)), values=np.stack(list(stored.values())))
            tmp.replace(cache)
    both = np.stack([stored[k] for k in keys]) if keys else np.zeros((0, 2, DIM), np.float32)
    return both[:, 0].astype(np.float32), both[:, 1].astype(np.float32)
