"""The real Bolt app on a loopback port, signed requests built as Slack builds them, and
the stand-in Slack Web API / response_url (tests/fakes/slack_api.py)."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.importorskip("slack_bolt", reason="needs teamkb[slack]")

from slack_sdk import WebClient

from bot.app import create_app
from bot.context import BotContext
from bot.http_server import SlackHTTPServer
from bot.settings import ChannelSettings, SlackSettings
from engine import Answer, Engine, Turn, build_engine
from tests.conftest import ollama_settings
from tests.fakes.slack_api import BOT_USER, TEAM, FakeSlack, signed_headers

SECRET = "test-signing-secret"
_IDS = itertools.count(1)
PRIVATE_DOC = """# Project Nightingale

## Launch plan

Project Nightingale is the confidential acquisition of a bird-watching startup.
The Nightingale budget is 42 million euros and the signing date is 3 March.
Only the deal team may discuss Nightingale outside this channel.
"""


class RecordingEngine:
    """Delegates to a real engine and records each ask (collection, history)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.asks: list[dict[str, Any]] = []

    def ask(self, question: str, *, collection: str | None = None,
            history: list[Turn] | None = None) -> Answer:  # fmt: skip
        self.asks.append({"question": question, "collection": collection, "history": history})
        return self.engine.ask(question, collection=collection, history=history)

    def search(self, *args: Any, **kwargs: Any) -> Any:
        return self.engine.search(*args, **kwargs)


@dataclass
class Reply:
    status: int
    body: str
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Bot:
    """Sends requests to the bot exactly as Slack does: signed, form or JSON bodies."""

    url: str
    slack: FakeSlack
    ctx: BotContext
    engine: Any
    secret: str = SECRET
    # Shared by every Bot of a test: they talk to the same stand-in Slack.
    _ids: Iterator[int] = field(default_factory=lambda: _IDS)

    def post(self, body: str, content_type: str, *, headers: dict[str, str] | None = None,
             sign: bool = True, timestamp: int | None = None) -> Reply:  # fmt: skip
        h = signed_headers(self.secret, body, timestamp=timestamp, content_type=content_type)
        if not sign:
            h["X-Slack-Signature"] = "v0=" + "0" * 64
        h.update(headers or {})
        req = urllib.request.Request(self.url, data=body.encode(), headers=h, method="POST")
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                text = resp.read().decode()
                return Reply(resp.status, text, time.perf_counter() - t0)
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode(), time.perf_counter() - t0)

    def command(self, text: str, *, user: str = "U1", channel: str = "C1", **kw: Any) -> Reply:
        rid = f"cmd{next(self._ids)}"
        form = {
            "token": "legacy", "team_id": TEAM, "team_domain": "example",
            "channel_id": channel, "channel_name": "general", "user_id": user,
            "user_name": "someone", "command": "/kb", "text": text, "api_app_id": "A1",
            "is_enterprise_install": "false", "response_url": self.slack.response_url(rid),
            "trigger_id": f"trig.{rid}",
        }  # fmt: skip
        reply = self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)
        reply.rid = rid  # type: ignore[attr-defined]
        return reply

    def event(self, event: dict[str, Any], *, event_id: str | None = None,
              retry: int | None = None, **kw: Any) -> Reply:  # fmt: skip
        envelope = {
            "token": "legacy", "team_id": TEAM, "api_app_id": "A1", "event": event,
            "type": "event_callback", "event_id": event_id or f"Ev{next(self._ids)}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        }  # fmt: skip
        headers = dict(kw.pop("headers", {}) or {})
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.post(json.dumps(envelope), "application/json", headers=headers, **kw)

    def mention(self, text: str, *, channel: str = "C1", user: str = "U1",
                thread_ts: str | None = None) -> dict[str, Any]:  # fmt: skip
        msg = self.slack.user_message(channel, f"<@{BOT_USER}> {text}", user=user,
                                      thread_ts=thread_ts)  # fmt: skip
        return {**msg, "type": "app_mention", "channel_type": "channel"}

    def interaction(self, payload: dict[str, Any], **kw: Any) -> Reply:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **kw)

    def click(self, action_id: str, value: str, *, user: str = "U1", channel: str = "C1",
              ephemeral: bool = True) -> tuple[Reply, str]:  # fmt: skip
        rid = f"act{next(self._ids)}"
        payload = {
            "type": "block_actions", "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A1", "token": "legacy", "team": {"id": TEAM},
            "container": {"type": "message", "message_ts": "1.1", "channel_id": channel,
                          "is_ephemeral": ephemeral},
            "trigger_id": f"trig.{rid}", "channel": {"id": channel},
            "response_url": self.slack.response_url(rid),
            "actions": [{"action_id": action_id, "block_id": f"kb_actions:{value}",
                         "value": value, "type": "button", "action_ts": str(time.time())}],
        }  # fmt: skip
        return self.interaction(payload), rid

    def submit_view(self, callback_id: str, private_metadata: str, text: str,
                    *, user: str = "U1") -> Reply:  # fmt: skip
        payload = {
            "type": "view_submission", "team": {"id": TEAM}, "user": {"id": user},
            "api_app_id": "A1", "token": "legacy", "trigger_id": "trig.view",
            "view": {
                "id": "V1", "type": "modal", "callback_id": callback_id,
                "private_metadata": private_metadata, "team_id": TEAM,
                "state": {"values": {"correction": {"text": {
                    "type": "plain_text_input", "value": text}}}},
            },
        }  # fmt: skip
        return self.interaction(payload)

    def responses(self, rid: str) -> list[dict[str, Any]]:
        return self.slack.responses.get(rid, [])

    def wait_response(self, rid: str, n: int = 1, timeout: float = 20) -> list[dict[str, Any]]:
        return self.slack.wait_for(lambda s: len(s.responses.get(rid, [])) >= n and
                                   s.responses[rid], timeout)  # fmt: skip


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def private_docs(tmp_path: Path) -> Path:
    folder = tmp_path / "private-docs"
    folder.mkdir()
    (folder / "nightingale.md").write_text(PRIVATE_DOC, encoding="utf-8")
    return folder


@pytest.fixture
def two_collection_engine(home_copy: Path, embedder, fake_ollama, private_docs: Path) -> Engine:
    """The handbook plus a 'private' collection, answering through the stand-in Ollama."""
    engine = build_engine(ollama_settings(home_copy, fake_ollama.url), embedder=embedder)
    engine.sync([private_docs], collection="private")
    return engine


@pytest.fixture
def make_bot(slack: FakeSlack, tmp_path: Path):
    """make_bot(engine, **SlackSettings changes) → a Bot served on a loopback port."""
    started: list[tuple[SlackHTTPServer, BotContext]] = []

    def make(engine: Any, **changes: Any) -> Bot:
        # store=, state=: the shared stores (PostgreSQL) instead of SQLite in bot-home.
        stores = changes.pop("store", None), changes.pop("state", None)
        channels = {
            k: v if isinstance(v, ChannelSettings) else ChannelSettings(**v)
            for k, v in changes.pop("channels", {}).items()
        }
        settings = SlackSettings(
            home=tmp_path / "bot-home", signing_secret=SECRET, bot_token="xoxb-test",
            api_url=slack.api_url, channels=channels, **changes,
        )  # fmt: skip
        recording = RecordingEngine(engine)
        client = WebClient(token=settings.bot_token, base_url=slack.api_url)
        ctx = BotContext(recording, settings, *stores)  # type: ignore[arg-type]
        app = create_app(ctx, client=client)
        server = SlackHTTPServer(app, SECRET, host="127.0.0.1", port=0).start()
        started.append((server, ctx))
        return Bot(f"http://127.0.0.1:{server.port}/slack/events", slack, ctx, recording)

    yield make
    for server, ctx in started:
        ctx.idle(30)
        server.stop()
        ctx.close()
