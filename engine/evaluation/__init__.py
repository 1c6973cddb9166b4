"""Answer evaluation: the one definition of "better" that `teamkb eval answers` reports
and nightly retraining gates on."""

from engine.evaluation.answers import (
    CONFIG_NAMES,
    EvalConfig,
    EvalResult,
    Outcome,
    Question,
    Summary,
    evaluate,
    load_questions,
    recommendation,
    summarize,
)

__all__ = [
    "CONFIG_NAMES",
    "EvalConfig",
    "EvalResult",
    "Outcome",
    "Question",
    "Summary",
    "evaluate",
    "load_questions",
    "recommendation",
    "summarize",
]
