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


_requested: list[str] = []  # the signal that asked the run to stop, once it has


def _raise(signum: int, frame: Any) -> None:
    _requested.append(f"stopped by {signal.Signals(signum).name}")
    raise RunInterrupted(_requested[-1])


def raise_if_requested() -> None:
    """Raise RunInterrupted if a signal asked the run to stop. The handler raises at
    once, but Python swallows an exception raised while the main thread runs a
    destructor or a garbage-collector callback (torch's tensors have many), so the
    training loop also checks here after every step."""
    if _requested:
        raise RunInterrupted(_requested[-1])


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises RunInterrupted (main thread only: Python
    delivers signals there; elsewhere the block changes nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _requested.clear()
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _requested.clear()
