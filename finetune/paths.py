"""Where retraining keeps its files under the data home (adapters live in `engine.adapters`)."""

from __future__ import annotations

from pathlib import Path


def finetune_dir(home: Path) -> Path:
    return home / "finetune"
