"""`teamkb serve slack|lsp`: the front ends live in `bot` and `lsp`."""

from __future__ import annotations

import argparse
from typing import Any

from engine import ConfigError, Settings


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run a front end (Slack bot or language server)")
    ssub = p.add_subparsers(dest="frontend", metavar="FRONTEND", required=True)
    s = ssub.add_parser("slack", help="the Slack bot (HTTP or Socket Mode)")
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--http", action="store_true", help="serve /slack/events (default)")
    mode.add_argument("--socket", action="store_true", help="Socket Mode (SLACK_APP_TOKEN)")
    s.add_argument("--port", type=int, default=3000)
    s.add_argument("--host", default="0.0.0.0")
    s.set_defaults(func=run_slack)
    lsp = ssub.add_parser("lsp", help="the language server (stdio by default)")
    # pygls' own transport options (lsp.main hands them to pygls.cli.start_server).
    lsp.add_argument("--tcp", action="store_true", help="serve over TCP (for debugging)")
    lsp.add_argument("--host", default="127.0.0.1", help="TCP address (default 127.0.0.1)")
    lsp.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    lsp.set_defaults(func=run_lsp)


def run_slack(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from bot.main import run
    except ImportError as exc:
        raise ConfigError(f"The Slack bot needs: pip install 'teamkb[slack]' ({exc})") from exc
    return run(args, settings)


def run_lsp(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from lsp.main import run
    except ImportError as exc:
        raise ConfigError(f"The language server needs: pip install 'teamkb[lsp]' ({exc})") from exc
    return run(args, settings)
