"""Answer evaluation: the one definition of "better" that `teamkb eval answers` reports
and nightly retraining gates on.

Front ends import from here only, never a submodule (tests/test_architecture.py checks
it). Every submodule is cheap to import: the report's matplotlib is loaded by `plot`
itself, and the engine by the functions that build one."""

from engine.evaluation.answers import (
    CONFIG_NAMES,
    EvalConfig,
    EvalResult,
    Outcome,
    Question,
    Summary,
    build_configs,
    evaluate,
    load_questions,
    recommendation,
    result,
    summarize,
    write_questions,
)
from engine.evaluation.questions import (
    feedback_records,
    feedback_target,
    keywords_of,
    make_questions,
    question_for,
    unanswerable_questions,
)
from engine.evaluation.report import COLUMNS, table_rows, write_report
from engine.evaluation.retrieval import evaluate_beir_set, evaluate_questions, test_set_name

__all__ = [
    "COLUMNS",
    "CONFIG_NAMES",
    "EvalConfig",
    "EvalResult",
    "Outcome",
    "Question",
    "Summary",
    "build_configs",
    "evaluate",
    "evaluate_beir_set",
    "evaluate_questions",
    "feedback_records",
    "feedback_target",
    "keywords_of",
    "load_questions",
    "make_questions",
    "question_for",
    "recommendation",
    "result",
    "summarize",
    "table_rows",
    "test_set_name",
    "unanswerable_questions",
    "write_questions",
    "write_report",
]
