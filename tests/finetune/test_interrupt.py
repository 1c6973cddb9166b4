"""SIGTERM stops a run even when Python swallows the exception the handler raises."""

from __future__ import annotations

import gc
import os
import signal

import pytest

from finetune.interrupt import RunInterrupted, raise_if_requested, sigterm_interrupts


class _SignalledInDestructor:
    """The signal lands while the main thread runs a destructor, as it can when torch
    frees tensors: Python prints "Exception ignored in ..." and goes on."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_swallowed_sigterm_still_stops_the_run_at_the_next_step():
    with sigterm_interrupts():
        obj = _SignalledInDestructor()
        del obj  # the handler's exception is raised inside __del__ and swallowed
        gc.collect()
        # The training loop's per-step check (trainer._StopWhenAsked) catches it.
        with pytest.raises(RunInterrupted, match="stopped by SIGTERM"):
            raise_if_requested()
    raise_if_requested()  # the next run starts clean
