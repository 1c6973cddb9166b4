"""`teamkb serve lsp`: build the server and run it over stdio (or TCP for debugging)."""

from __future__ import annotations

import argparse
import logging
import sys

from lsprotocol import types
from pygls.cli import start_server

from engine import Settings
from lsp.server import EngineFactory, TeamkbServer

log = logging.getLogger(__name__)

LEVELS = {
    logging.ERROR: types.MessageType.Error,
    logging.WARNING: types.MessageType.Warning,
    logging.INFO: types.MessageType.Info,
}


class ClientLogHandler(logging.Handler):
    """Mirrors our log records to the client's log (`window/logMessage`).

    Records come from worker threads too, so they are handed to the event loop."""

    def __init__(self, server: TeamkbServer) -> None:
        super().__init__(logging.INFO)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        loop = self.server.loop
        if loop is None or loop.is_closed():
            return
        try:
            params = types.LogMessageParams(
                type=LEVELS.get(record.levelno, types.MessageType.Log), message=self.format(record)
            )
            loop.call_soon_threadsafe(self.server.window_log_message, params)
        except Exception:  # logging must never take the server down
            pass


def create_server(settings: Settings, engine_factory: EngineFactory | None = None) -> TeamkbServer:
    from lsp import configuration
    from lsp.features import code_lens, commands, completion, hover

    server = TeamkbServer(settings, engine_factory)
    for feature in (configuration, hover, completion, code_lens, commands):
        feature.register(server)
    return server


_LOGGERS = ("lsp", "engine", "knowledge")


def setup_logging() -> None:
    """Before the server exists: it starts loading the index as it is made, and a line
    logged before this (the vocabulary snapshot read, in milliseconds) was lost."""
    # stdout carries the protocol: anything printed there corrupts the stream.
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                            format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def log_to_client(server: TeamkbServer) -> None:
    """Also send the log to the editor (window/logMessage), once there is a server."""
    handler = ClientLogHandler(server)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    for name in _LOGGERS:
        logging.getLogger(name).addHandler(handler)


def transport_args(args: argparse.Namespace) -> list[str]:
    """`teamkb serve lsp`'s options as pygls' command line: empty means stdio."""
    if not getattr(args, "tcp", False):
        return []
    return ["--tcp", "--host", str(args.host), "--port", str(args.port)]


def run(args: argparse.Namespace, settings: Settings) -> int:
    setup_logging()
    server = create_server(settings)
    log_to_client(server)
    argv = transport_args(args)
    if argv:
        log.info("teamkb language server on tcp %s:%s", args.host, args.port)
    # pygls picks the transport; given no list it would parse teamkb's own sys.argv.
    start_server(server, argv)
    return 0
