"""SIGTERM (systemd stopping the unit, `kill`) ends a run the way Ctrl-C does: as an
exception that unwinds through the stages, so the lock is released, the adapter
pointer is never moved and the report says the run was interrupted."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


class RunInterrupted(BaseException):
    """A signal stopped the run. A BaseException, like KeyboardInterrupt, so that no
    stage's `except Exception` takes it for an ordinary failure and carries on."""


def _raise(signum: int, frame: Any) -> None:
    raise RunInterrupted(f"stopped by {signal.Signals(signum).name}")


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises RunInterrupted (main thread only: Python
    delivers signals there; elsewhere the block changes nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
