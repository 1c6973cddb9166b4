"""Retrieval measured on a questions file (the `teamkb eval answers` format).

Two measures, both over the answerable questions:
- file recall@5: a gold source file is among the top 5 passages' sources;
- fact recall@3: every answer keyword (case-insensitive) is in the text of the top 3
  passages together. The model only ever sees the top 3 (`prompt_passages`), so this is
  the ceiling of every answer, where file recall only says the right page was near.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.evaluation.answers import Question, is_gold, keyword_recall, median
from engine.settings import Settings
from engine.types import Passage

if TYPE_CHECKING:
    from knowledge.evaluation import RetrievalScores
    from knowledge.store import SearchMode

log = logging.getLogger(__name__)

FILE_K = 5
FACT_K = 3


@dataclass(frozen=True)
class QuestionSetScores:
    test_set: str
    mode: str
    questions: int
    file_recall_at_5: float
    fact_recall_at_3: float
    median_latency_ms: float
    fact_misses: tuple[str, ...]  # ids whose keywords were not all in the top 3

    def to_json(self) -> dict[str, Any]:
        return {
            "test_set": self.test_set,
            "mode": self.mode,
            "questions": self.questions,
            "file_recall@5": round(self.file_recall_at_5, 4),
            "fact_recall@3": round(self.fact_recall_at_3, 4),
            "median_latency_ms": round(self.median_latency_ms, 2),
            "fact_misses": list(self.fact_misses),
        }


def test_set_name(path: Path) -> str:
    """`…/git-doc/questions.jsonl` → git-doc; `handbook-questions.jsonl` → handbook."""
    stem = path.stem
    if stem in ("questions", "test", "qa"):
        return path.parent.name
    return stem.removesuffix("-questions").removesuffix("_questions")


def file_hit(passages: Sequence[Passage], gold: Sequence[str], k: int = FILE_K) -> bool:
    return any(is_gold(p.source, gold) for p in passages[:k])


def fact_hit(passages: Sequence[Passage], keywords: Sequence[str], k: int = FACT_K) -> bool:
    # Same matching as the answer evaluation (backticks and spacing ignored), so a fact
    # counted as retrieved here is one an answer could quote.
    found = keyword_recall("\n".join(p.text for p in passages[:k]), keywords)
    return found == 1.0


def evaluate_questions(
    engine: Any,
    questions: Sequence[Question],
    *,
    test_set: str,
    collection: str | None = None,
    mode: str | None = None,
) -> QuestionSetScores:
    """Search each answerable question as `Engine.search` does for a user."""
    answerable = [q for q in questions if q.kind == "answerable" and q.gold]
    files = facts = 0
    misses: list[str] = []
    latencies: list[float] = []
    for q in answerable:
        t0 = time.perf_counter()
        found = engine.search(q.question, collection=collection, k=FILE_K, mode=mode)
        latencies.append((time.perf_counter() - t0) * 1000)
        files += file_hit(found, q.gold)
        if fact_hit(found, q.answer_keywords):
            facts += 1
        else:
            misses.append(q.id)
    n = max(len(answerable), 1)
    return QuestionSetScores(
        test_set=test_set,
        mode=mode or engine.settings.retrieval.mode,
        questions=len(answerable),
        file_recall_at_5=files / n,
        fact_recall_at_3=facts / n,
        median_latency_ms=median(latencies),
        fact_misses=tuple(misses),
    )


def evaluate_beir_set(
    settings: Settings,
    folder: Path,
    modes: Sequence[SearchMode],
    progress: Callable[[str], None] | None = None,
) -> list[RetrievalScores]:
    """A BEIR-layout set scored with the retrieval these settings give an engine (its
    embedding model, fusion, re-ranker), each mode on its own."""
    from engine.factory import build_embedder, build_reranker
    from knowledge.evaluation import evaluate_beir

    r = settings.retrieval
    return evaluate_beir(
        folder,
        embedder=build_embedder(settings),
        scratch=settings.home / "eval",
        modes=modes,
        progress=progress,
        fusion=r.fusion_config(),
        collapse_threshold=r.collapse_threshold,
        drop_filler=r.drop_filler,
        fts_tokenizer=r.fts_tokenizer,
        reranker=build_reranker(settings),
        rerank_depth=r.rerank_depth,
    )
