"""teamkb's storage: the answer cache, the answers and the feedback on them, the Slack
bot's dedup and thread state, each on SQLite (embedded, the default) or PostgreSQL
(`state_url`, shared by replicas).

Public API: the names below. Other packages import from here only, never a submodule.
This package sits at the bottom beside `knowledge` and imports neither: callers pass
the plain values it needs (the data folder, `state_url`, how to rebuild an answer).
"""

from state.answers import AnswerCache
from state.errors import ConfigError, StateUnavailable, TeamkbError
from state.feedback import (
    FeedbackRecord,
    FeedbackStore,
    SQLiteFeedbackStore,
    StoredAnswer,
    Verdict,
    feedback_path,
    open_feedback_store,
)
from state.feedback_postgres import PostgresFeedbackStore
from state.feedback_retry import RetryingFeedbackStore
from state.slack import SlackState, SQLiteSlackState, open_slack_state, slack_state_path

__all__ = [
    "AnswerCache",
    "ConfigError",
    "FeedbackRecord",
    "FeedbackStore",
    "PostgresFeedbackStore",
    "RetryingFeedbackStore",
    "SQLiteFeedbackStore",
    "SQLiteSlackState",
    "SlackState",
    "StateUnavailable",
    "StoredAnswer",
    "TeamkbError",
    "Verdict",
    "feedback_path",
    "open_feedback_store",
    "open_slack_state",
    "slack_state_path",
]
