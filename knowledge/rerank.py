"""Re-ranking the fused candidates with a cross-encoder the team provides.

A bi-encoder (all-MiniLM-L6-v2) and BM25 find the right file for nine questions in ten,
but the passage holding the fact only for seven in ten of the top three: ranking
precision is what a cross-encoder, reading question and passage together, is trained
for. None may be downloaded at run time and none ships on PyPI, so teamkb has no
default one: a team that has a sentence-transformers cross-encoder in a local folder
(ms-marco-MiniLM-L-6-v2, bge-reranker-base, …) points `retrieval.reranker` at it, and
the best `retrieval.rerank_depth` fused candidates are put in its order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from knowledge.errors import RerankerUnavailable

log = logging.getLogger(__name__)

# A cross-encoder reads question and passage as one sequence: 512 word pieces is the
# window of the usual BERT-sized ones, and a 900-character chunk fits in about 250.
MAX_LENGTH = 512


class Reranker(Protocol):
    name: str

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text, higher is better."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers `CrossEncoder` from a local folder, loaded on first use
    (never from a hub: `local_files_only`)."""

    def __init__(self, model_path: str | Path, *, batch_size: int = 16) -> None:
        path = Path(model_path)
        if not (path / "config.json").is_file():
            raise RerankerUnavailable(
                str(path), "it has no config.json: give the folder a sentence-transformers "
                "cross-encoder was saved to (CrossEncoder.save)"
            )  # fmt: skip
        self.path = path
        self.name = path.name
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # a per-load bar is noise in a CLI
                log.info("loading the re-ranker from %s", self.path)
                try:
                    self._model = CrossEncoder(
                        str(self.path), device="cpu", max_length=MAX_LENGTH,
                        local_files_only=True,
                    )  # fmt: skip
                except (OSError, ValueError) as exc:
                    raise RerankerUnavailable(str(self.path), str(exc)) from exc
            return self._model

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        pairs = [(query, t) for t in texts]
        out = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return [float(s) for s in out]


def rerank(
    reranker: Reranker, query: str, items: Sequence[Any], texts: Sequence[str], depth: int
) -> list[tuple[Any, float]]:
    """The first `depth` items in the re-ranker's order, each with its score; the rest
    follow in their given order, scored below every re-ranked one. Ties keep the given
    (fused) order, so a re-ranker that cannot tell two passages apart changes nothing."""
    head = min(depth, len(items))
    scores = reranker.scores(query, texts[:head])
    order = sorted(range(head), key=lambda i: -scores[i])  # sorted() is stable
    ranked = [(items[i], scores[i]) for i in order]
    floor = min(scores, default=0.0)
    return ranked + [(item, floor - 1.0 - n) for n, item in enumerate(items[head:])]
