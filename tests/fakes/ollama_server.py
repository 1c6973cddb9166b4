"""A small HTTP server that replays Ollama's documented native API (docs/api.md):
POST /api/chat and /api/generate (NDJSON streaming or one JSON object), GET /api/tags,
GET /api/version. It records the requests it got so tests can check the wire contract.

By default it answers by quoting the first sentence of passage [1] and citing it, which
is what a well-behaved model does; tests pass `responder` for other behaviour.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


def quote_first_passage(request: dict[str, Any]) -> str:
    text = request["messages"][-1]["content"] if "messages" in request else request["prompt"]
    m = re.search(r"^\[1\][^\n]*\n((?:> [^\n]*\n?)+)", text, re.M)
    if not m:
        return "The docs do not cover this."
    body = " ".join(line[2:] for line in m.group(1).splitlines())
    first = re.split(r"(?<=[.!?])\s", body.strip())[0].rstrip(".")
    return f"{first} [1]."


class FakeOllama:
    def __init__(
        self,
        responder: Responder = quote_first_passage,
        *,
        models: tuple[str, ...] = ("gemma3:270m",),
        delay_s: float = 0.0,
        status: int = 200,
    ) -> None:
        self.responder = responder
        self.models = set(models)
        self.delay_s = delay_s
        self.status = status
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/api/tags":
                    models = [{"name": m, "model": m, "size": 1} for m in sorted(fake.models)]
                    self._send(200, json.dumps({"models": models}).encode())
                elif self.path == "/api/version":
                    self._send(200, b'{"version":"0.12.0"}')
                else:
                    self._send(404, b'{"error":"not found"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                req = json.loads(self.rfile.read(length) or b"{}")
                req["_path"] = self.path
                fake.requests.append(req)
                if fake.status != 200:
                    self._send(fake.status, b'{"error":"internal error"}')
                    return
                if self.path not in ("/api/chat", "/api/generate"):
                    self._send(404, b'{"error":"not found"}')
                    return
                if req.get("model") not in fake.models:
                    err = {"error": f"model '{req.get('model')}' not found"}
                    self._send(404, json.dumps(err).encode())
                    return
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                reply = fake.responder(req)
                chat = self.path == "/api/chat"
                if req.get("stream", True):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for piece in re.findall(r"\S+\s*|\s+", reply):
                        self._chunk(_part(req["model"], piece, chat, done=False))
                    self._chunk(_part(req["model"], "", chat, done=True))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self._send(200, json.dumps(_part(req["model"], reply, chat, True)).encode())

            def _chunk(self, obj: dict[str, Any]) -> None:
                data = (json.dumps(obj) + "\n").encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeOllama:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _part(model: str, text: str, chat: bool, done: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": model,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "done": done,
    }
    if chat:
        out["message"] = {"role": "assistant", "content": text}
    else:
        out["response"] = text
    if done:
        out.update(
            done_reason="stop", total_duration=1000, load_duration=10,
            prompt_eval_count=10, eval_count=5, eval_duration=100,
        )  # fmt: skip
    return out
