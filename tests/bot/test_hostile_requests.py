"""Unsigned, malformed and replayed requests against the real app over HTTP, and what
reaches the logs: a refusal is one WARNING line, never a traceback, never slow, and no
log line shows Slack's `token`, a `response_url` or a `trigger_id`."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from slack_bolt.request import BoltRequest

from bot.blocks import HELPFUL
from tests.bot.conftest import SECRET, Bot
from tests.fakes.slack_api import TEAM, signed_headers

LEAKS = ("tok-LEAKCHECK", "trig.LEAKCHECK", "/response/leak")


class NoEngine:
    """Malformed requests must never reach the engine."""

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the engine was asked")

    search = ask


def post_bytes(bot: Bot, body: bytes, content_type: str) -> tuple[int, float]:
    """A body signed over its raw bytes, as a client that is not Slack would sign it."""
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    url = urlsplit(bot.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    t0 = time.perf_counter()
    try:
        conn.request("POST", url.path, body=body, headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={sig}"})  # fmt: skip
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.perf_counter() - t0
    finally:
        conn.close()


def command_form(bot: Bot, rid: str, **changes: str) -> str:
    form = {
        "token": "tok-LEAKCHECK", "team_id": TEAM, "channel_id": "C1", "user_id": "U1",
        "command": "/kb", "text": "how do I roll back a deploy?", "api_app_id": "A1",
        "response_url": bot.slack.response_url(rid), "trigger_id": f"trig.LEAKCHECK.{rid}",
    }  # fmt: skip
    return urlencode({**form, **changes})


def assert_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelname for r in loud] == ["WARNING"], caplog.text
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


def test_a_non_numeric_timestamp_is_401_with_one_warning(make_bot, caplog):
    caplog.set_level(logging.DEBUG)
    bot = make_bot(NoEngine())
    reply = bot.command("how do I roll back?", headers={"X-Slack-Request-Timestamp": "abc"})
    assert reply.status == 401 and reply.elapsed < 1.0
    assert_one_warning(caplog)
    assert "401" in caplog.text and "X-Slack-Request-Timestamp" in caplog.text


EVENT = {"token": "t", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
         "event_id": "Ev1", "event_time": 1}  # fmt: skip
NO_USER = {"type": "block_actions", "api_app_id": "A1", "team": {"id": TEAM},
           "trigger_id": "t.1", "response_url": "http://127.0.0.1:9/response/x",
           "container": {"type": "message", "channel_id": "C1"}, "channel": {"id": "C1"},
           "actions": [{"action_id": HELPFUL, "value": "x", "type": "button"}]}  # fmt: skip
MALFORMED = {
    "bad JSON": ("{not json", "application/json"),
    "a JSON array": ("[1, 2]", "application/json"),
    "event null": (json.dumps({**EVENT, "event": None}), "application/json"),
    "payload not JSON": ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    "form sent as JSON": ("token=x&command=%2Fkb&text=hi", "application/json"),
    "block_actions without user": (
        urlencode({"payload": json.dumps(NO_USER)}), "application/x-www-form-urlencoded"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_signed_malformed_bodies_are_400_with_one_warning(make_bot, caplog, case):
    caplog.set_level(logging.DEBUG)
    bot = make_bot(NoEngine())
    body, content_type = MALFORMED[case]
    reply = bot.post(body, content_type)
    assert reply.status == 400 and reply.elapsed < 1.0
    assert bot.ctx.idle(5)
    assert_one_warning(caplog)
    assert not bot.slack.responses
    assert [c.method for c in bot.slack.calls if c.method != "auth.test"] == []


def test_a_binary_body_is_400_with_one_warning(make_bot, caplog):
    caplog.set_level(logging.DEBUG)
    bot = make_bot(NoEngine())
    status, elapsed = post_bytes(bot, b"\xff\xfe\x00\x01binary\x80", "application/json")
    assert status == 400 and elapsed < 1.0
    assert_one_warning(caplog)


def test_a_replayed_command_is_answered_once(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    body = command_form(bot, "replay")
    headers = signed_headers(SECRET, body)  # the same signature, sent twice
    first = bot.post(body, "application/x-www-form-urlencoded", headers=headers)
    second = bot.post(body, "application/x-www-form-urlencoded", headers=headers)
    assert first.status == second.status == 200
    assert "Searching" in first.body
    bot.wait_response("replay")
    assert bot.ctx.idle()  # nothing more is coming
    assert len(bot.responses("replay")) == 1 and len(bot.engine.asks) == 1
    # A new command with the same text is not a replay.
    again = bot.command("how do I roll back a deploy?")
    assert "Searching" in again.body


def test_a_question_about_payloads_is_answered(ollama_engine, make_bot):
    """Bolt takes any form mentioning "payload" for an interaction; ours stays a command."""
    bot = make_bot(ollama_engine)
    reply = bot.command("what is the payload format of the ledger api?")
    assert reply.status == 200 and "Searching" in reply.body
    bot.wait_response(reply.rid)  # type: ignore[attr-defined]
    assert len(bot.responses(reply.rid)) == 1  # type: ignore[attr-defined]


def test_logs_never_show_token_response_url_or_trigger_id(ollama_engine, make_bot, caplog):
    caplog.set_level(logging.DEBUG)
    bot = make_bot(ollama_engine)
    reply = bot.post(command_form(bot, "leak"), "application/x-www-form-urlencoded")
    assert reply.status == 200
    bot.wait_response("leak")  # slack_sdk logs the response_url it posts to at DEBUG
    payload = {"type": "block_actions", "user": {"id": "U1"}, "token": "tok-LEAKCHECK",
               "trigger_id": "trig.LEAKCHECK.2", "response_url": bot.slack.response_url("leak"),
               "channel": {"id": "C1"},
               "actions": [{"action_id": HELPFUL, "value": "nope"}]}  # fmt: skip
    bot.interaction(payload)
    bot.wait_response("leak", n=2)
    # Bolt logs the whole body of a request whose signature it rejects, at INFO.
    app = bot_app(bot)
    forged = {"x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=bad"}
    rejected = app.dispatch(BoltRequest(body=command_form(bot, "leak"), headers=forged))
    assert rejected.status == 401
    assert "Invalid request signature" in caplog.text and "[redacted]" in caplog.text
    assert bot.ctx.idle()
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in LEAKS:
        assert secret not in logged, secret


def bot_app(bot: Bot) -> Any:
    """The Bolt App behind `bot` (the make_bot fixture keeps only its URL)."""
    from slack_sdk import WebClient

    from bot.app import create_app

    return create_app(bot.ctx, client=WebClient(token="xoxb-test", base_url=bot.slack.api_url))


def test_slacks_ssl_check_is_answered_without_a_signature(make_bot, caplog):
    caplog.set_level(logging.DEBUG)
    bot = make_bot(NoEngine())
    reply = bot.post("ssl_check=1&token=tok-LEAKCHECK", "application/x-www-form-urlencoded",
                     sign=False, headers={"X-Slack-Request-Timestamp": ""})  # fmt: skip
    assert reply.status == 200 and bot.ctx.idle(5)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "tok-LEAKCHECK" not in caplog.text
