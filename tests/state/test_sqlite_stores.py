"""The SQLite stores opened by several processes at once, as two `teamkb index` runs, or
the bot and a CLI, do on a new data folder."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import Answer
from state import AnswerCache, SQLiteFeedbackStore, SQLiteSlackState
from state.sqlite import use_wal

STORES: dict[str, Callable[[Path], object]] = {
    "answer cache": AnswerCache,
    "feedback": lambda path: SQLiteFeedbackStore(path, Answer.from_json),
    "slack state": SQLiteSlackState,
}


def _open(name: str, path: Path, start: threading.Barrier, errors: multiprocessing.Queue) -> None:
    start.wait()
    try:
        STORES[name](path)
    except Exception as exc:  # reported to the parent process, which asserts none came
        errors.put(repr(exc))


@pytest.mark.parametrize("name", list(STORES))
def test_two_processes_creating_a_store_together_both_open_it(tmp_path, name):
    # Without the wait in `use_wal`, about one pair in seven failed with "database is
    # locked", so 25 pairs fail almost surely (0.86 ** 25 < 3%) if it is gone.
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    for i in range(25):
        start = ctx.Barrier(2)
        path = tmp_path / f"{i}.sqlite"
        procs = [ctx.Process(target=_open, args=(name, path, start, errors)) for _ in range(2)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=60)
            assert proc.exitcode == 0
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []


def test_a_lock_held_past_the_wait_is_still_reported(tmp_path):
    path = tmp_path / "held.sqlite"
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            use_wal(sqlite3.connect(path, timeout=0), wait_s=0.2)
    finally:
        holder.rollback()
        holder.close()
