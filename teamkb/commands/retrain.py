"""`teamkb retrain` and `teamkb adapter list|rollback`: implemented in `finetune`."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    try:
        from finetune.cli import register as register_finetune
    except ImportError:
        return
    register_finetune(sub)
