"""The WSGI application served at /slack/events (`bot.http_server` runs it).

Bolt's own WSGI adapter (`SlackRequestHandler`) behind three checks of ours: GET /health
answers for an orchestrator (503 until the engine is warm, and again while draining),
bodies over 1 MB are refused before anything reads them, and `bot.guard` refuses
unsigned or malformed requests with one WARNING line before Bolt parses them.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context

from bot.guard import RequestGuard, parse_slack_body

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's payloads are a few KB; anything this big is not from Slack.
MAX_BODY_BYTES = 1024 * 1024


class Readiness:
    """What /health says: "starting" (503) → "ok" (200) → "stopping" (503)."""

    def __init__(self, ready: bool = False) -> None:
        self._ready = threading.Event()
        self._stopping = threading.Event()
        if ready:
            self._ready.set()

    def set_ready(self) -> None:
        self._ready.set()

    def set_stopping(self) -> None:
        self._stopping.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def state(self) -> str:
        if self._stopping.is_set():
            return "stopping"
        return "ok" if self._ready.is_set() else "starting"


def _plain(start_response: StartResponse, status: str, body: str) -> Iterable[bytes]:
    data = body.encode("utf-8")
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]


class _BoltHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, with the request body parsed by `parse_slack_body`."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        req = BoltRequest(
            body=request.get_body(), query=request.query_string, headers=request.get_headers()
        )
        body = parse_slack_body(req.raw_body, req.content_type)
        if body != req.body:
            req.body = body
            req.context = build_context(BoltContext(), body)
        return self.app.dispatch(req)


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    out = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items()
           if k.startswith("HTTP_")}  # fmt: skip
    out["content-type"] = str(environ.get("CONTENT_TYPE") or "")
    return out


def _content_length(environ: WSGIEnvironment) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return -1


def wsgi_app(
    app: App, signing_secret: str, path: str = EVENTS_PATH, readiness: Readiness | None = None
) -> WSGIApplication:
    """GET /health → 200 "ok" or 503; POST `path` → guard → Bolt; big bodies → 413.

    `signing_secret` is the one the App verifies with (Bolt keeps its copy private)."""
    bolt = _BoltHandler(app, path=path)
    guard = RequestGuard(signing_secret)
    ready = readiness or Readiness(ready=True)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, where = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        if method == "GET" and where == "/health":
            state = ready.state()
            return _plain(start_response, "200 OK" if state == "ok" else "503 Service Unavailable",
                          state)  # fmt: skip
        if method != "POST" or where != path:
            return bolt(environ, start_response)  # Bolt's 404
        length = _content_length(environ)  # checked before anything reads the body
        if length < 0:
            return _plain(start_response, "400 Bad Request", "Bad Content-Length")
        if length > MAX_BODY_BYTES:
            return _plain(start_response, "413 Content Too Large", "Request too large")
        body = environ["wsgi.input"].read(length) if length else b""
        refusal = guard.check(body, _headers(environ))
        if refusal is not None:
            who = environ.get("REMOTE_ADDR", "?")
            log.warning("refused a request from %s: %d %s", who, refusal.status, refusal.reason)
            status = "401 Unauthorized" if refusal.status == 401 else "400 Bad Request"
            return _plain(start_response, status, refusal.reason)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return bolt(environ, start_response)
        except Exception as exc:  # Bolt failed to read the request itself, not a listener
            log.warning("refused a request Bolt could not read: 400 %s", type(exc).__name__)
            return _plain(start_response, "400 Bad Request", "malformed request")

    return application
