"""Errors of a retraining run that users see."""

from __future__ import annotations

from engine import TeamkbError


class TrainingError(TeamkbError):
    """Training could not run (no data, a model that does not load, no room)."""
