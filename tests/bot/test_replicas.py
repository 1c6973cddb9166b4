"""Two replicas of the real `teamkb serve slack --http` (subprocesses) behind one
PostgreSQL (`state_url`) and one index, as a team runs them behind a load balancer."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.blocks import HELPFUL
from engine import Answer, build_engine
from state import RetryingFeedbackStore, open_feedback_store, open_slack_state
from tests.bot.processes import TOKENS, BotProcess, write_config
from tests.bot.test_slack_bot import buttons
from tests.conftest import HANDBOOK, ROOT, make_settings, ollama_settings
from tests.fakes.postgres import free_port
from tests.fakes.slack_api import BOT_USER, TEAM, FakeSlack, signed_headers

SECRET = TOKENS["SLACK_SIGNING_SECRET"]


@pytest.fixture(scope="module")
def replicas(handbook_home: Path, postgres_server, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[FakeSlack, list[str], Path, Path]]:  # fmt: skip
    """Two bot processes (own data folders, one index, one PostgreSQL), started once for
    this module's tests: their URLs, the docs folder the index is built from, and the
    folder holding their logs and data folders. Module-scoped: each start loads a model."""
    from tests.fakes.ollama_server import FakeOllama

    tmp_path = tmp_path_factory.mktemp("replicas")
    home = tmp_path / "home"
    shutil.copytree(handbook_home, home)
    pg_url = postgres_server.new_database()
    docs = tmp_path / "handbook"
    shutil.copytree(HANDBOOK, docs)  # same files, same hashes: the index is current
    extra = f'index_uri = "{home / "index"}"\nstate_url = "{pg_url}"\n'
    procs: list[BotProcess] = []
    with FakeSlack() as slack, FakeOllama() as fake_ollama:
        try:
            urls = []
            for n in (1, 2):
                toml = write_config(tmp_path / f"replica{n}", home=tmp_path / f"home{n}",
                                    ollama_url=fake_ollama.url, extra=extra, docs=docs)  # fmt: skip
                port = free_port()
                procs.append(BotProcess(toml, "--http", "--host", "127.0.0.1", "--port",
                                        str(port), api_url=slack.api_url,
                                        log=tmp_path / f"replica{n}.log"))  # fmt: skip
                urls.append(f"http://127.0.0.1:{port}/slack/events")
            for proc, url in zip(procs, urls, strict=True):
                proc.wait_healthy(int(url.split(":")[2].split("/")[0]))
            yield slack, urls, docs, tmp_path
        finally:
            for proc in procs:
                proc.stop()


def deliver(url: str, event: dict[str, Any], event_id: str, retry: int = 0) -> int:
    """POST an Events API envelope as Slack does (signed; retries say so)."""
    body = json.dumps({"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "event": event,
                       "type": "event_callback", "event_id": event_id,
                       "event_time": int(time.time()),
                       "authorizations": [{"team_id": TEAM, "user_id": BOT_USER,
                                           "is_bot": True}]})  # fmt: skip
    headers = signed_headers(SECRET, body, content_type="application/json")
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(resp.status)


def mention(slack: FakeSlack, text: str, user: str = "U1") -> dict[str, Any]:
    msg = slack.user_message("C1", f"<@{BOT_USER}> {text}", user=user)
    return {**msg, "type": "app_mention", "channel_type": "channel"}


def posts_in(slack: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [p for p in slack.of("chat.postMessage") if p.get("thread_ts") == ts]


def test_retries_landing_on_both_replicas_are_answered_once(replicas):
    slack, urls, _, tmp_path = replicas
    event = mention(slack, "how do I roll back a deploy?")
    # The first delivery and two retries, at once, spread over both replicas.
    deliveries = [(urls[0], 0), (urls[1], 1), (urls[1], 2)]
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda u=u, r=r: statuses.append(
        deliver(u, event, "EvSame", retry=r))) for u, r in deliveries]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [200, 200, 200]
    skipped = f"already handled message {event['ts']} in C1"
    logs = [tmp_path / "replica1.log", tmp_path / "replica2.log"]
    slack.wait_for(lambda s: posts_in(s, event["ts"]) and sum(
        p.read_text().count(skipped) for p in logs) == 2, timeout=60)  # fmt: skip
    # Two deliveries were refused by the shared claim, one answered: no post can follow.
    assert len(posts_in(slack, event["ts"])) == 1
    # Nothing went to either replica's own SQLite files.
    assert not (tmp_path / "home1" / "slack-state.sqlite").exists()
    assert not (tmp_path / "home2" / "feedback.sqlite").exists()


def test_both_replicas_pick_up_a_newly_published_index(replicas, embedder, fake_ollama):
    slack, urls, docs, tmp_path = replicas
    for n, url in enumerate(urls):  # each replica has the index open (and cached)
        event = mention(slack, "how do I roll back a deploy?", user=f"U{n}")
        assert deliver(url, event, f"EvWarm{n}") == 200
        slack.wait_for(lambda s, e=event: posts_in(s, e["ts"]), timeout=60)
    (docs / "zebra.md").write_text(
        "# Zebra crossings\n\nThe zebra crossing budget is 77 euros per office.\n"
    )
    writer = build_engine(ollama_settings(tmp_path / "home", fake_ollama.url), embedder=embedder)
    report = writer.sync([docs], collection="handbook")
    assert report.added >= 1
    for n, url in enumerate(urls):
        assert _answers_from(slack, url, "zebra.md", user=f"UZ{n}"), f"replica {n + 1}"


def _answers_from(slack: FakeSlack, url: str, source: str, *, user: str) -> bool:
    """Ask until an answer cites `source` (a reader re-checks the published version
    every 2 s), at most 10 times."""
    for i in range(10):
        event = mention(slack, "what is the zebra crossing budget?", user=f"{user}{i}")
        deliver(url, event, f"Ev{user}{i}")
        [post] = slack.wait_for(lambda s, e=event: posts_in(s, e["ts"]), timeout=60)
        if source in json.dumps(post["blocks"]):
            return True
        time.sleep(0.5)  # bounded: lets the reader's 2 s re-check come round
    return False


def test_postgresql_going_away_mid_run_loses_no_answer_and_no_feedback(
    ollama_engine, make_bot, postgres_server, pg_url, tmp_path, caplog
):
    settings = make_settings(tmp_path, state_url=pg_url)
    store = open_feedback_store(settings.home, settings.state_url, Answer.from_json)
    assert isinstance(store, RetryingFeedbackStore)
    store.first_pause = 0.05
    bot = make_bot(
        ollama_engine, store=store, state=open_slack_state(settings.home, settings.state_url)
    )
    caplog.set_level(logging.INFO)
    postgres_server.stop()
    try:
        reply = bot.command("how do I roll back a deploy?")
        [answer] = bot.wait_response(reply.rid)  # delivered: its record waits for a retry
        _, rid = bot.click(HELPFUL, buttons(answer["blocks"])[HELPFUL])
        [thanks] = bot.wait_response(rid)
        assert thanks["text"].startswith(":thumbsup: Thanks!")
        event = bot.mention("how do I deploy ledger-api?")
        bot.event(event)  # the claim cannot be checked: answered rather than dropped
        bot.slack.wait_for(lambda s: posts_in(s, event["ts"]))
        assert store.pending() == 3  # two answers and the verdict, in order
    finally:
        postgres_server.start()
    bot.slack.wait_for(lambda s: store.pending() == 0, timeout=30)
    assert [(r.user, r.verdict) for r in store.records()] == [("U1", "helpful")]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("feedback on answer" in m and "kept, will retry" in m for m in warned)
    assert any(f"answering msg:C1:{event['ts']} unchecked" in m for m in warned)


def test_unreachable_postgresql_stops_the_bot_naming_state_url(tmp_path):
    pytest.importorskip("psycopg", reason="needs psycopg (the dev extra)")
    url = f"postgresql://kb:pw-secret@127.0.0.1:{free_port()}/kb"
    toml = write_config(tmp_path, home=tmp_path / "home", ollama_url="http://127.0.0.1:9",
                        extra=f'state_url = "{url}"')  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "teamkb", "--config", str(toml), "serve", "slack", "--socket"],
        env={**os.environ, **TOKENS, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.startswith("teamkb: state_url: cannot reach PostgreSQL at "
                                 "postgresql://kb:***@127.0.0.1:")  # fmt: skip
    assert "pw-secret" not in run.stderr + run.stdout and "Traceback" not in run.stderr
