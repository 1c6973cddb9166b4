"""`teamkb serve slack`: read the tokens, build the engine and the app, serve."""

from __future__ import annotations

import argparse
import logging
import os

from slack_sdk import WebClient

from bot.app import create_app
from bot.context import BotContext
from bot.http_server import serve_http
from bot.settings import SlackSettings
from bot.warmup import start_warmup
from engine import Answer, ConfigError, Settings, build_engine
from state import open_feedback_store, open_slack_state

log = logging.getLogger(__name__)
# slack_sdk's built-in Socket Mode client notices a dead connection only after five
# failed pings in a row (then it reconnects): 2 s pings bring that to ~10 s instead of
# the ~50 s of Bolt's default 10 s (measured in tests/bot/test_socket_mode.py).
SOCKET_PING_S = 2.0


def check_secrets(settings: SlackSettings, *, socket: bool) -> None:
    need = {"SLACK_BOT_TOKEN": settings.bot_token}
    if socket:
        need["SLACK_APP_TOKEN"] = settings.app_token
    else:
        need["SLACK_SIGNING_SECRET"] = settings.signing_secret
    missing = [name for name, value in need.items() if not value]
    if missing:
        raise ConfigError(
            f"The Slack bot needs {' and '.join(missing)} in the environment. Copy them "
            "from your Slack app's settings (Basic Information → Signing Secret / App-Level "
            "Tokens; OAuth & Permissions → Bot User OAuth Token); see docs/slack.md."
        )
    if socket and not settings.app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token (it starts with xapp-).")


def run(args: argparse.Namespace, settings: Settings) -> int:
    socket = bool(getattr(args, "socket", False))
    slack = SlackSettings.from_settings(settings, os.environ)
    check_secrets(slack, socket=socket)
    engine = build_engine(settings)
    store = open_feedback_store(settings.home, settings.state_url, Answer.from_json)
    ctx = BotContext(engine, slack, store, open_slack_state(settings.home, settings.state_url))
    app = create_app(ctx)
    try:
        if socket:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            web_client = WebClient(base_url=slack.api_url) if slack.api_url else None
            log.info("connecting to Slack in Socket Mode")
            # Slack reaches a socket bot only once it connects: warm up meanwhile, so the
            # first answer is not the one that loads the models.
            start_warmup(ctx, lambda: None)
            SocketModeHandler(
                app, slack.app_token, web_client=web_client, ping_interval=SOCKET_PING_S
            ).start()
        else:
            return serve_http(ctx, app, host=args.host, port=args.port)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        ctx.close()
    return 0
