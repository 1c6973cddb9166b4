"""The errors the stores raise. `TeamkbError` and `ConfigError` are defined here, in the
lowest layer that raises them, so that `engine.errors` re-exports the same classes and
front ends catch one family (`engine.errors.USER_ERRORS`)."""


class TeamkbError(Exception):
    """Base class of teamkb's user-safe errors: `str(err)` is safe to show a user."""


class ConfigError(TeamkbError):
    """Settings that cannot work; the message says which key and how to fix it."""


class StateUnavailable(Exception):
    """The shared state store (PostgreSQL) could not be reached mid-run. Not a user
    error: callers keep the write and retry it (`state.feedback_retry`)."""
