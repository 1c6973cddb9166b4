"""The ship gate: candidate (base + new adapter) against the adapter in service, on the
same questions, scored by `engine.evaluation`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine import Settings
from engine.evaluation import EvalConfig, Question, Summary, evaluate, load_questions
from engine.evaluation import result as eval_result
from finetune.config import FinetuneConfig
from finetune.dataset import Example


def summary_json(s: Summary | None) -> dict[str, Any]:
    return s.to_json() if s else {}


def gate_questions(heldout: Sequence[Example], cfg: FinetuneConfig) -> list[Question]:
    """A sample of the held-out split, answerable and unanswerable alike, plus the team's
    own questions (`gate_questions`)."""
    questions = [q for q in (e.as_question() for e in heldout) if q is not None]
    if cfg.eval_questions:
        ans = [q for q in questions if q.kind == "answerable"]
        una = [q for q in questions if q.kind == "unanswerable"]
        half = max(1, cfg.eval_questions // 2)
        questions = ans[: cfg.eval_questions - min(half, len(una))] + una[:half]
    if cfg.gate_questions:
        questions += load_questions(Path(cfg.gate_questions))
    return questions


def gate(
    cfg: FinetuneConfig,
    service: Summary,
    candidate: Summary,
    check_service: Summary | None = None,
    check_candidate: Summary | None = None,
) -> tuple[bool, str]:
    """Ship only a clear win that breaks nothing else. Returns (ship, why)."""
    gain = candidate.score - service.score
    if gain < cfg.ship_margin:
        return False, (
            f"candidate score {candidate.score:.3f} vs service {service.score:.3f} "
            f"({gain:+.3f}) is below the ship margin {cfg.ship_margin:+.3f}"
        )
    if check_service and check_candidate:
        drop = check_service.score - check_candidate.score
        if drop > cfg.check_tolerance:
            return False, (
                f"general-ability check drops {drop:.3f} (tolerance {cfg.check_tolerance:.3f})"
            )
    if cfg.max_latency_ratio > 0 and service.latency_p50_s > 0:
        ratio = candidate.latency_p50_s / service.latency_p50_s
        if ratio > cfg.max_latency_ratio:
            return False, f"candidate is {ratio:.2f}x slower (limit {cfg.max_latency_ratio}x)"
    return True, (
        f"candidate score {candidate.score:.3f} beats service {service.score:.3f} "
        f"by {gain:+.3f} (margin {cfg.ship_margin:+.3f})"
    )


def eval_pair(
    settings: Settings,
    questions: Sequence[Question],
    service_gen: Any,
    cand_gen: Any,
    embedder: Any,
    collection: str | None,
) -> tuple[Summary, Summary]:
    outcomes = evaluate(
        settings,
        questions,
        [EvalConfig("service", service_gen, True), EvalConfig("candidate", cand_gen, True)],
        embedder=embedder,
        collection=collection,
    )
    res = eval_result(outcomes)
    service, cand = res.summary("service"), res.summary("candidate")
    assert service is not None and cand is not None
    return service, cand
