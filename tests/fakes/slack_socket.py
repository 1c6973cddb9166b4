"""Slack's Socket Mode, as documented (api.slack.com/apis/socket-mode), on loopback.

- `apps.connections.open` (added to the stand-in Web API, `FakeSlack`) returns a
  `wss://` URL. Its port is not 443, which slack_sdk's built-in client (the one Bolt's
  SocketModeHandler uses) takes as a test server and reaches without TLS.
- Each new connection gets `{"type": "hello", …}`; then the test sends envelopes
  (`slash_commands`, `events_api`, `interactive`) with `send()` and waits for the app's
  ack, `{"envelope_id": …}`, with `wait_ack()`.
- `disconnect()` sends `{"type": "disconnect", "reason": "refresh_requested"}`: the app
  opens a new connection, and this one is closed once it has. `drop()` cuts the
  connection without a word, as a network failure would.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.fakes.slack_api import FakeSlack

APP_ID = "A1"


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    seconds: float  # from sending the envelope to receiving its ack


class FakeSocketMode:
    def __init__(self, slack: FakeSlack) -> None:
        self.slack = slack
        self.opened = 0  # apps.connections.open calls
        self.hellos = 0  # connections that got their hello
        self.acks: dict[str, Ack] = {}
        self._sent: dict[str, float] = {}
        self._conns: list[ServerConnection] = []
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self.server: Server = serve(self._handle, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        slack.methods["apps.connections.open"] = self._open
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self._thread.join(timeout=10)

    # -- Slack's side ------------------------------------------------------------------
    def _open(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            self.opened += 1
            ticket = self.opened
        return {"ok": True, "url": f"wss://127.0.0.1:{self.port}/link/?ticket=t{ticket}"}

    def _handle(self, conn: ServerConnection) -> None:
        hello = {"type": "hello", "num_connections": 1,
                 "debug_info": {"host": "fake-socket", "approximate_connection_time": 3600},
                 "connection_info": {"app_id": APP_ID}}  # fmt: skip
        conn.send(json.dumps(hello))
        with self._cond:
            self._conns.append(conn)
            self.hellos += 1
            self._cond.notify_all()
        try:
            for raw in conn:
                self._on_message(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if conn in self._conns:
                    self._conns.remove(conn)
                self._cond.notify_all()

    def _on_message(self, message: dict[str, Any]) -> None:
        envelope_id = str(message.get("envelope_id") or "")
        with self._cond:
            if envelope_id in self._sent and envelope_id not in self.acks:
                took = time.monotonic() - self._sent[envelope_id]
                self.acks[envelope_id] = Ack(envelope_id, message.get("payload"), took)
                self._cond.notify_all()

    # -- for tests ---------------------------------------------------------------------
    def wait_connected(self, hellos: int = 1, timeout: float = 60) -> None:
        """Until `hellos` connections in all have been greeted and one is open."""
        self._wait(lambda: self.hellos >= hellos and bool(self._conns), timeout,
                   f"{hellos} connection(s)")  # fmt: skip

    def send(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """An envelope on the newest open connection; returns its envelope_id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else "",
        }  # fmt: skip
        with self._cond:
            conn = self._conns[-1]
            self._sent[envelope_id] = time.monotonic()
        conn.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10) -> Ack:
        self._wait(lambda: envelope_id in self.acks, timeout, f"the ack of {envelope_id}")
        return self.acks[envelope_id]

    def disconnect(self, timeout: float = 30) -> None:
        """Ask the app to reconnect (as Slack does every few hours); close the old
        connection once the new one is up."""
        with self._cond:
            old, hellos = self._conns[-1], self.hellos
        old.send(json.dumps({"type": "disconnect", "reason": "refresh_requested",
                             "debug_info": {"host": "fake-socket"}}))  # fmt: skip
        self.wait_connected(hellos + 1, timeout)
        old.close()

    def drop(self) -> None:
        """Cut the newest connection: no close frame, as when the network fails."""
        with self._cond:
            conn = self._conns[-1]
        # shutdown, not close: it sends the FIN at once, and wakes our reader thread.
        conn.socket.shutdown(socket.SHUT_RDWR)

    def _wait(self, predicate: Any, timeout: float, what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout=timeout):
                raise AssertionError(f"timed out waiting for {what}")
