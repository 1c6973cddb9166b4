"""The shared state behind its two interfaces (state.FeedbackStore,
state.SlackState): SQLite and a real PostgreSQL give the same answers, and
PostgreSQL's faults (unreachable at start, gone mid-run) are handled as promised."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from engine import Answer, ConfigError, Settings
from state import (
    FeedbackStore,
    RetryingFeedbackStore,
    SlackState,
    SQLiteFeedbackStore,
    SQLiteSlackState,
    open_feedback_store,
    open_slack_state,
)
from tests.conftest import make_settings


def _open_feedback_store(settings: Settings) -> FeedbackStore[Answer]:
    return open_feedback_store(settings.home, settings.state_url, Answer.from_json)


def _open_slack_state(settings: Settings) -> SlackState:
    return open_slack_state(settings.home, settings.state_url)


def _answer(q: str = "How do I roll back?") -> Answer:
    return Answer(question=q, text="Run deploy rollback [1].", citations=(), model="m")


Stores = tuple[FeedbackStore[Answer], SlackState, FeedbackStore[Answer], SlackState]


def _stores(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Stores:
    """Two independent handles on one store: what two replicas would hold."""
    if kind == "sqlite":
        f, s = tmp_path / "home" / "f.sqlite", tmp_path / "home" / "s.sqlite"
        a, b = SQLiteFeedbackStore(f, Answer.from_json), SQLiteFeedbackStore(f, Answer.from_json)
        return a, SQLiteSlackState(s), b, SQLiteSlackState(s)
    settings = make_settings(tmp_path, state_url=request.getfixturevalue("pg_url"))
    return (_open_feedback_store(settings), _open_slack_state(settings),
            _open_feedback_store(settings), _open_slack_state(settings))  # fmt: skip


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_both_stores_keep_the_same_facts(kind, tmp_path, request):
    store_a, state_a, store_b, state_b = _stores(kind, tmp_path, request)
    answer_id = store_a.add_answer(_answer(), user="U1", channel="C1", thread_ts="1.2")
    stored = store_b.answer(answer_id)
    assert stored is not None and (stored.user, stored.channel, stored.thread_ts) == (
        "U1", "C1", "1.2")  # fmt: skip
    assert stored.answer.text == "Run deploy rollback [1]."
    assert store_b.answer("nope") is None
    store_a.add_feedback(answer_id, user="U2", channel="C1", verdict="not_helpful")
    store_b.add_feedback(answer_id, user="U2", channel="C1", verdict="helpful")  # replaces
    store_b.add_feedback(answer_id, user="U2", channel="C1", verdict="correction",
                         correction="Use the rollback button.")  # fmt: skip
    records = store_a.records()
    assert [(r.user, r.verdict, r.correction) for r in records] == [
        ("U2", "helpful", ""), ("U2", "correction", "Use the rollback button.")]  # fmt: skip
    assert [r.verdict for r in store_b.records("correction")] == ["correction"]
    assert records[0].question == "How do I roll back?"

    assert state_a.claim("msg:C1:1.2") is True
    assert state_b.claim("msg:C1:1.2") is False  # the other replica skips the retry
    assert state_b.mark_shared(answer_id) and not state_a.mark_shared(answer_id)
    assert state_a.shared_at(answer_id)
    state_a.unmark_shared(answer_id)
    assert state_b.shared_at(answer_id) == ""
    state_a.add_thread("C1", "1.2")
    assert state_b.answered_thread("C1", "1.2") and not state_b.answered_thread("C1", "9.9")
    for handle in (store_a, state_a, store_b, state_b):
        handle.close()


def test_concurrent_claims_across_replicas_have_one_winner(pg_url, tmp_path):
    settings = make_settings(tmp_path, state_url=pg_url)
    replicas = [_open_slack_state(settings) for _ in range(4)]
    start = threading.Barrier(len(replicas))
    wins: list[bool] = []

    def claim(state: SlackState) -> None:
        start.wait(timeout=10)
        wins.append(state.claim("msg:C1:7.7"))

    threads = [threading.Thread(target=claim, args=(s,)) for s in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(wins) == [False, False, False, True]


def test_unreachable_postgresql_at_start_names_state_url(tmp_path):
    from tests.fakes.postgres import free_port

    pytest.importorskip("psycopg")
    url = f"postgresql://kb:hunter2-secret@127.0.0.1:{free_port()}/kb"
    settings = make_settings(tmp_path, state_url=url)
    with pytest.raises(ConfigError) as err:
        _open_feedback_store(settings)
    message = str(err.value)
    assert message.startswith("state_url: cannot reach PostgreSQL at postgresql://kb:***@127.0.0.1")
    assert "hunter2-secret" not in message and "hunter2-secret" not in repr(settings)


def test_feedback_written_while_postgresql_is_down_is_retried_and_logged(
    postgres_server, pg_url, tmp_path, caplog
):
    settings = make_settings(tmp_path, state_url=pg_url)
    store = _open_feedback_store(settings)
    assert isinstance(store, RetryingFeedbackStore)
    store.first_pause = 0.05  # the retry loop's first pause; it doubles from there
    kept_id = ""
    caplog.set_level(logging.INFO, logger="state.feedback_retry")
    postgres_server.stop()
    try:
        kept_id = store.add_answer(_answer(), user="U1", channel="C1")
        assert store.answer(kept_id) is not None  # the buttons still find it
        assert store.add_feedback(kept_id, user="U1", channel="C1", verdict="helpful") == 0
        assert store.pending() == 2
    finally:
        postgres_server.start()
    deadline_ok = _wait(lambda: store.pending() == 0, timeout=30)
    assert deadline_ok, "kept writes were not retried"
    assert [(r.user, r.verdict) for r in store.records()] == [("U1", "helpful")]
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"answer {kept_id} kept, will retry" in m for m in messages)
    assert any(m == f"stored after a retry: helpful feedback on answer {kept_id} by U1"
               for m in messages)  # fmt: skip
    store.close()


def test_writes_still_unstored_at_close_are_logged_as_errors(postgres_server, pg_url,
                                                              tmp_path, caplog):  # fmt: skip
    store = _open_feedback_store(make_settings(tmp_path, state_url=pg_url))
    postgres_server.stop()
    try:
        answer_id = store.add_answer(_answer(), user="U1", channel="C1")
        store.close()
    finally:
        postgres_server.start()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [f"state store still unreachable; NOT stored: answer {answer_id}"]


def test_state_url_must_be_postgresql(tmp_path):
    from teamkb.config import load_settings

    with pytest.raises(ConfigError, match="state_url must be a postgresql://"):
        load_settings(env={"TEAMKB_STATE_URL": "mysql://x", "TEAMKB_HOME": str(tmp_path)},
                      cwd=tmp_path)  # fmt: skip
    settings = load_settings(env={"TEAMKB_STATE_URL": "postgresql://u:pw@h/db",
                                  "TEAMKB_HOME": str(tmp_path)}, cwd=tmp_path)  # fmt: skip
    assert settings.state_url == "postgresql://u:pw@h/db" and "pw@" not in repr(settings)
    assert replace(settings, state_url="").state_url == ""


def _wait(predicate, timeout: float) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def test_pg_dump_of_the_teamkb_tables_holds_the_feedback(postgres_server, pg_url, tmp_path):
    """The backup command docs/deployment.md gives."""
    import subprocess

    store = _open_feedback_store(make_settings(tmp_path, state_url=pg_url))
    answer_id = store.add_answer(_answer(), user="U1", channel="C1")
    store.add_feedback(answer_id, user="U1", channel="C1", verdict="correction",
                       correction="Press the big red button.")  # fmt: skip
    store.close()
    pg_dump = str(postgres_server.bindir / "pg_dump")
    run = subprocess.run([pg_dump, "--table=teamkb_*", pg_url], capture_output=True, text=True,
                         timeout=60, check=True)  # fmt: skip
    dump = run.stdout
    assert "CREATE TABLE public.teamkb_feedback" in dump
    assert "Press the big red button." in dump and answer_id in dump
