"""Serve a Bolt app at /slack/events over HTTP.

Bolt's `app.start()` runs the same dispatch on a single-threaded `http.server.HTTPServer`
bound to 0.0.0.0: one slow client would hold up every other request, and `--host` could
not be honoured. This is Bolt's own WSGI adapter (`SlackRequestHandler`) on a threaded
wsgiref server, with a host, a /health endpoint and a cap on the request size.
Put it behind a TLS-terminating proxy: Slack only calls https URLs.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's payloads are a few KB; anything this big is not from Slack.
MAX_BODY_BYTES = 1024 * 1024


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of slash commands must not be refused


class _QuietHandler(WSGIRequestHandler):
    """wsgiref prints a line per request on stderr: send it to the debug log instead."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def _plain(start_response: StartResponse, status: str, body: str) -> Iterable[bytes]:
    data = body.encode("utf-8")
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]


def wsgi_app(app: App, path: str = EVENTS_PATH) -> WSGIApplication:
    """GET /health → "ok"; POST `path` → Bolt; bodies over MAX_BODY_BYTES → 413."""
    bolt = SlackRequestHandler(app, path=path)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == "/health":
            return _plain(start_response, "200 OK", "ok")
        # Checked before anything reads the body.
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return _plain(start_response, "400 Bad Request", "Bad Content-Length")
        if length > MAX_BODY_BYTES:
            return _plain(start_response, "413 Content Too Large", "Request too large")
        return bolt(environ, start_response)

    return application


class SlackHTTPServer:
    def __init__(
        self, app: App, host: str = "0.0.0.0", port: int = 3000, path: str = EVENTS_PATH
    ) -> None:
        self.httpd = make_server(
            host, port, wsgi_app(app, path),
            server_class=ThreadingWSGIServer, handler_class=_QuietHandler,
        )  # fmt: skip
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def serve_forever(self) -> None:
        log.info("serving Slack events on port %d", self.port)
        try:
            self.httpd.serve_forever(poll_interval=0.1)
        finally:
            self.httpd.server_close()

    def start(self) -> SlackHTTPServer:
        """Serve in a background thread (tests, benchmarks)."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
