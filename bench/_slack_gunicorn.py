"""The Slack WSGI app for gunicorn, used only by `bench/slack_ack.py --server gunicorn`
to compare it with waitress (the product serves under waitress: `bot.http_server`).

    gunicorn -k gthread -w 1 --threads 16 'bench._slack_gunicorn:app()'

Reads TEAMKB_BENCH_CONFIG (a teamkb.toml) and the SLACK_* variables. The engine is
built and warmed in the worker, after gunicorn forks it: torch must not be forked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bot.app import create_app
from bot.context import BotContext
from bot.server import wsgi_app
from bot.settings import SlackSettings
from bot.warmup import warm_up
from engine import build_engine
from teamkb.config import load_settings


def app() -> Any:
    settings = load_settings(Path(os.environ["TEAMKB_BENCH_CONFIG"]))
    slack = SlackSettings.from_settings(settings, os.environ)
    ctx = BotContext(build_engine(settings), slack)
    warm_up(ctx)  # gunicorn only accepts once the worker has loaded the app
    return wsgi_app(create_app(ctx), slack.signing_secret)
