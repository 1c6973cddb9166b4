"""A small stand-in for Slack: the Web API the bot calls (POST /api/METHOD, form or JSON
bodies, as slack_sdk sends them) and response_url endpoints (POST /response/ID).

It records every call so tests can assert what a user would see, keeps the messages
posted per channel so `conversations.replies` returns a real thread, and can sign
requests to the bot the way Slack does (`signed_headers`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T0001"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


def signed_headers(
    secret: str,
    body: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers as Slack sends them: v0=HMAC-SHA256(secret, 'v0:{ts}:{body}')."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={sig}",
    }


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: dict[str, list[dict[str, Any]]] = {}  # response_url id → posts
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.errors: dict[str, str] = {}  # method → Slack error to answer with
        self.rate_limited: dict[str, int] = {}  # method → how many 429s to answer first
        # method → answer, for stand-ins that add methods (apps.connections.open).
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if "json" in (self.headers.get("Content-Type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw).items()}
                for key in ("blocks", "view"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
                path = self.path.partition("?")[0]
                if fake._limited(path.removeprefix("/api/")):
                    self.send_response(429)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Type", "application/json")
                    data = b'{"ok": false, "error": "ratelimited"}'
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if path.startswith("/response/"):
                    body = fake._response(path.removeprefix("/response/"), args)
                else:
                    body = fake._api(path.removeprefix("/api/"), args)
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.api_url = self.url + "/api/"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- Slack's side ------------------------------------------------------------------
    def _api(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append(Call(method, args))
            if method in self.errors:
                return {"ok": False, "error": self.errors[method]}
            if method in self.methods:
                return self.methods[method](args)
            if method == "auth.test":
                return {"ok": True, "url": "https://example.slack.com/", "team": "Example",
                        "team_id": TEAM, "user": "teamkb", "user_id": BOT_USER,
                        "bot_id": BOT_ID}  # fmt: skip
            if method == "chat.postMessage":
                ts = self._next_ts()
                msg = {"ts": ts, "text": args.get("text", ""), "bot_id": BOT_ID,
                       "user": BOT_USER, "blocks": args.get("blocks")}  # fmt: skip
                thread = args.get("thread_ts") or ts
                self.threads.setdefault((args["channel"], thread), []).append(
                    {**msg, "thread_ts": thread}
                )
                return {"ok": True, "channel": args["channel"], "ts": ts, "message": msg}
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": self._next_ts()}
            if method == "conversations.replies":
                msgs = self.threads.get((args["channel"], args["ts"]), [])
                return {"ok": True, "messages": sorted(msgs, key=lambda m: float(m["ts"]))}
            return {"ok": True}

    def _limited(self, method: str) -> bool:
        with self._lock:
            left = self.rate_limited.get(method, 0)
            if left <= 0:
                return False
            self.rate_limited[method] = left - 1
            self.calls.append(Call(method + ":429", {}))
            return True

    def _response(self, rid: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.responses.setdefault(rid, []).append(body)
            self.calls.append(Call("response_url", {**body, "_id": rid}))
        return {"ok": True}

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    # -- for tests -----------------------------------------------------------------------
    def response_url(self, rid: str) -> str:
        return f"{self.url}/response/{rid}"

    def user_message(
        self, channel: str, text: str, *, user: str = "U1", thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A message a person posts (what the event will carry); kept for the thread."""
        with self._lock:
            ts = self._next_ts()
            msg = {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel}
            if thread_ts:
                msg["thread_ts"] = thread_ts
            self.threads.setdefault((channel, thread_ts or ts), []).append(dict(msg))
        return msg

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c.args for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[FakeSlack], Any], timeout: float = 20.0) -> Any:
        """Poll until `predicate(self)` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            if time.monotonic() > deadline:
                methods = [c.method for c in self.calls]
                raise AssertionError(f"timed out waiting; calls so far: {methods}")
            time.sleep(0.01)
