"""One readable line per logging step, in the run's log and on the terminal:

    step 10/40  loss 1.912  val 1.874  92 tok/s  ETA 9m12s

`Trainer`'s own progress bar and dict printer are switched off (`train.py`); this is
what a person watching a nightly run, or reading its log the next morning, needs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback

log = logging.getLogger(__name__)


@dataclass
class TokenCount:
    """Training tokens (non-padding) seen so far; the trainer adds to it."""

    tokens: int = 0


def _eta(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}h{m % 60:02d}m" if m >= 60 else f"{m}m{s:02d}s"


class ProgressLine(TrainerCallback):
    def __init__(self, counter: TokenCount) -> None:
        self.counter = counter
        self.started = time.perf_counter()
        self.pending: dict[str, Any] | None = None  # a training log waiting for its eval

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.started = time.perf_counter()

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        logs = logs or {}
        if "loss" in logs:
            self.pending = {"step": state.global_step, "loss": logs["loss"]}
            if not control.should_evaluate:  # otherwise the eval's log completes the line
                self._emit(state, None)
        elif "eval_loss" in logs and self.pending is not None:
            self._emit(state, logs["eval_loss"])

    def _emit(self, state: Any, val: float | None) -> None:
        assert self.pending is not None
        elapsed = time.perf_counter() - self.started
        step, total = self.pending["step"], state.max_steps
        eta = elapsed / max(step, 1) * (total - step)
        log.info(
            "step %d/%d  loss %.3f  val %s  %.0f tok/s  ETA %s",
            step,
            total,
            self.pending["loss"],
            "–" if val is None else f"{val:.3f}",
            self.counter.tokens / elapsed if elapsed else 0.0,
            _eta(eta),
        )
        self.pending = None
