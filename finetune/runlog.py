"""`run.log` in the run folder: what the `finetune` loggers say during a run (the
progress lines included), at INFO, whatever the terminal's level."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def run_log(path: Path) -> Iterator[None]:
    logger = logging.getLogger("finetune")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    before = logger.level
    # INFO must reach the file; terminal handlers keep their own level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)
        handler.close()
