"""The real `teamkb serve slack --socket` (a subprocess) over a Socket Mode stand-in
that speaks the documented protocol (tests/fakes/slack_socket.py): hello, envelopes of
the three kinds, acks by envelope_id, disconnect and a dropped connection."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.blocks import HELPFUL
from tests.bot.processes import BotProcess, write_config
from tests.bot.test_slack_bot import buttons
from tests.fakes.slack_api import BOT_USER, TEAM, FakeSlack
from tests.fakes.slack_socket import APP_ID, FakeSocketMode

pytest.importorskip("websockets", reason="needs websockets (the dev extra)")
ACK_LIMIT_S = 3.0  # Slack's limit for acknowledging an envelope


@pytest.fixture(scope="module")
def socket_bot(handbook_home: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[FakeSlack, FakeSocketMode, BotProcess]]:  # fmt: skip
    """One bot process for this module's tests (each start loads a model)."""
    from tests.fakes.ollama_server import FakeOllama

    tmp_path = tmp_path_factory.mktemp("socket")
    home = tmp_path / "home"
    shutil.copytree(handbook_home, home)  # the bot writes its state there
    # Answers take a while (0.5 s): long enough to drop a connection mid-answer.
    with FakeSlack() as slack, FakeSocketMode(slack) as socket, \
            FakeOllama(delay_s=0.5) as ollama:  # fmt: skip
        toml = write_config(tmp_path / "cfg", home=home, ollama_url=ollama.url)
        bot = BotProcess(toml, "--socket", api_url=slack.api_url, log=tmp_path / "bot.log")
        try:
            socket.wait_connected(1, timeout=120)
            yield slack, socket, bot
        finally:
            bot.stop()


def slash(slack: FakeSlack, rid: str, text: str) -> dict[str, Any]:
    return {"token": "legacy", "team_id": TEAM, "team_domain": "example", "channel_id": "C1",
            "channel_name": "general", "user_id": "U1", "user_name": "someone",
            "command": "/kb", "text": text, "api_app_id": APP_ID,
            "response_url": slack.response_url(rid), "trigger_id": f"trig.{rid}"}  # fmt: skip


def mention(slack: FakeSlack, text: str, event_id: str) -> dict[str, Any]:
    msg = slack.user_message("C1", f"<@{BOT_USER}> {text}")
    return {"token": "legacy", "team_id": TEAM, "api_app_id": APP_ID, "type": "event_callback",
            "event": {**msg, "type": "app_mention", "channel_type": "channel"},
            "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]}  # fmt: skip


def click(slack: FakeSlack, rid: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": "U1", "team_id": TEAM},
            "api_app_id": APP_ID, "token": "legacy", "team": {"id": TEAM},
            "container": {"type": "message", "message_ts": "1.1", "channel_id": "C1",
                          "is_ephemeral": True},
            "trigger_id": f"trig.{rid}", "channel": {"id": "C1"},
            "response_url": slack.response_url(rid),
            "actions": [{"action_id": action_id, "block_id": f"kb_actions:{value}",
                         "value": value, "type": "button", "action_ts": "1.2"}]}  # fmt: skip


def acked(socket: FakeSocketMode, envelope_id: str) -> None:
    ack = socket.wait_ack(envelope_id, timeout=ACK_LIMIT_S + 2)
    assert ack.seconds < ACK_LIMIT_S, f"{envelope_id} acked after {ack.seconds:.1f} s"


def cited(text: str) -> bool:
    """A cited answer: a checked sentence or the docs' own words with its marker [1],
    ending with a marker (its own, or the "See also [2], [3]." of further quotes)."""
    return "[1]" in text and re.search(r"\[\d\]\.?$", text) is not None


def thread_answers(slack: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [p for p in slack.of("chat.postMessage") if p.get("thread_ts") == ts]


def test_command_mention_and_click_are_answered_across_reconnects(socket_bot):
    slack, socket, bot = socket_bot
    acked(socket, socket.send("slash_commands", slash(slack, "r1", "how do I roll back?")))
    [answer] = slack.wait_for(lambda s: s.responses.get("r1"), timeout=60)
    assert answer["replace_original"] is True and cited(answer["text"])

    opened = socket.opened
    socket.disconnect()  # Slack's periodic refresh: a new connection, the old one closed
    assert socket.opened == opened + 1
    event = mention(slack, "how do I deploy ledger-api?", "Ev1")
    acked(socket, socket.send("events_api", event))
    ts = event["event"]["ts"]
    [post] = slack.wait_for(lambda s: thread_answers(s, ts), timeout=60)
    assert post["channel"] == "C1" and cited(post["text"])

    hellos = socket.hellos
    socket.drop()  # the network fails: the client notices and connects again
    socket.wait_connected(hellos + 1, timeout=30)
    rid, answer_id = "r2", buttons(answer["blocks"])[HELPFUL]
    acked(socket, socket.send("interactive", click(slack, rid, HELPFUL, answer_id)))
    [thanks] = slack.wait_for(lambda s: s.responses.get(rid), timeout=30)
    assert thanks["text"].startswith(":thumbsup: Thanks!")
    assert bot.proc.poll() is None, bot.output()


def test_a_connection_dropped_mid_answer_still_answers_once(socket_bot):
    slack, socket, bot = socket_bot
    event = mention(slack, "how do I roll back a deploy?", "Ev9")
    first = socket.send("events_api", event)
    acked(socket, first)
    hellos = socket.hellos
    socket.drop()  # the answer is still being generated (the model takes 0.5 s)
    socket.wait_connected(hellos + 1, timeout=30)
    # Slack may deliver the event again on the new connection: the same event, a new
    # envelope. The bot acks it and does not answer a second time.
    acked(socket, socket.send("events_api", event, retry_attempt=1))
    ts = event["event"]["ts"]
    [post] = slack.wait_for(lambda s: thread_answers(s, ts), timeout=60)
    assert cited(post["text"])
    # A later question, answered after the first: so the retry's turn has come and gone.
    later = mention(slack, "how do I deploy ledger-api?", "Ev10")
    acked(socket, socket.send("events_api", later))
    slack.wait_for(lambda s: thread_answers(s, later["event"]["ts"]), timeout=60)
    assert len(thread_answers(slack, ts)) == 1
    assert bot.proc.poll() is None, bot.output()
