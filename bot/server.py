"""Serve a Bolt app at /slack/events over HTTP.

Bolt's `app.start()` runs the same dispatch on a single-threaded `http.server.HTTPServer`
bound to 0.0.0.0: one slow client would hold up every other request, and `--host` could
not be honoured. This is that server, threaded, with a host and a /health endpoint.
Put it behind a TLS-terminating proxy: Slack only calls https URLs.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class SlackHTTPServer:
    def __init__(
        self, app: App, host: str = "0.0.0.0", port: int = 3000, path: str = EVENTS_PATH
    ) -> None:
        bolt_path = path

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s " + format, self.address_string(), *args)

            def do_GET(self) -> None:
                if self.path.partition("?")[0] == "/health":
                    self._send(200, {"Content-Type": ["text/plain"]}, "ok")
                else:
                    self._send(404, {}, "")

            def do_POST(self) -> None:
                request_path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8") if length else ""
                if request_path != bolt_path:
                    self._send(404, {}, "")
                    return
                req = BoltRequest(body=body, query=query, headers=self.headers)  # type: ignore[arg-type]
                resp: BoltResponse = app.dispatch(req)
                self._send(resp.status, resp.headers, resp.body)

            def _send(self, status: int, headers: dict[str, Any], body: str | dict) -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
                self.send_response(status)
                for k, vs in headers.items():
                    if k.lower() == "content-length":
                        continue
                    for v in vs if isinstance(vs, list | tuple) else [vs]:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # a burst of slash commands must not be refused

        self.httpd = Server((host, port), Handler)
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
