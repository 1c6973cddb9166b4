"""`teamkb serve slack --http` under waitress, with a graceful stop.

waitress (not gunicorn): one process keeps one copy of the engine and its models and
one BotContext whose answer pool must be drained on stop; waitress serves the WSGI app
from threads of that process, speaks HTTP/1.1 with keep-alive, and needs no fork (see
docs/decisions/waitress.md for the measurements that chose it).

On SIGTERM (or Ctrl-C): /health turns 503, the listening socket closes (no new
connections), requests being handled finish, then the answers in flight are delivered;
all bounded by `shutdown_timeout_s`. Then the process exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from slack_bolt import App
from waitress import wasyncore
from waitress.server import create_server

from bot.context import BotContext
from bot.server import EVENTS_PATH, MAX_BODY_BYTES, Readiness, wsgi_app
from bot.warmup import start_warmup

log = logging.getLogger(__name__)
# waitress warns "Task queue depth is N" whenever a request waits for a thread: a burst
# of Slack events does that by design (the ack is quick, the queue drains in ms), so the
# warning is noise in an operator's log, and the bench measures the real wait.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

THREADS = 32  # requests handled at once (each only waits for a listener's ack()), as many
# as Bolt's listener threads (bot.app)


class SlackHTTPServer:
    def __init__(
        self, app: App, signing_secret: str, host: str = "0.0.0.0", port: int = 3000,
        path: str = EVENTS_PATH, readiness: Readiness | None = None, threads: int = THREADS,
    ) -> None:  # fmt: skip
        self.readiness = readiness or Readiness(ready=True)
        self.server = create_server(
            wsgi_app(app, signing_secret, path, self.readiness),
            host=host, port=port, threads=threads, ident="teamkb",
            max_request_body_size=MAX_BODY_BYTES,  # also caps chunked bodies
            backlog=1024,  # a burst of slash commands must not be refused
            channel_timeout=75,  # longer than a proxy's keep-alive idle time
        )  # fmt: skip
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def start(self) -> SlackHTTPServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self._thread.start()
        return self

    def _in_loop(self, fn: Callable[[], object]) -> None:
        """Run `fn` on waitress's event-loop thread (its map is not thread-safe)."""
        done = threading.Event()

        def thunk() -> None:
            try:
                fn()
            finally:
                done.set()

        try:
            self.server.trigger.pull_trigger(thunk)
        except OSError as exc:
            # The loop's wake-up pipe is already closed (seen once in CI, at teardown:
            # EBADF): the loop cannot take work any more, so do it on this thread
            # rather than fail to stop.
            log.debug("waitress trigger unusable (%s); running on the caller's thread", exc)
            thunk()
            return
        done.wait(5)

    def stop_accepting(self) -> None:
        # Only the listening socket: open connections keep being served.
        self._in_loop(lambda: wasyncore.dispatcher.close(self.server))

    def busy(self) -> bool:
        """A request is queued, being handled, or its response not yet written."""
        tasks = self.server.task_dispatcher
        channels = list(self.server.active_channels.values())
        return (
            bool(tasks.queue)
            or tasks.active_count > 0
            or any(ch.requests or ch.total_outbufs_len for ch in channels)
        )

    def wait_requests(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.busy():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)  # waitress offers no event for "all requests done"
        return True

    def stop(self) -> None:
        """Close every connection and end the loop and worker threads."""
        if self._thread is not None and self._thread.is_alive():
            self._in_loop(lambda: wasyncore.close_all(self.server._map))
            self._thread.join(timeout=5)
        self.server.task_dispatcher.shutdown(timeout=5)


def drain(server: SlackHTTPServer, ctx: BotContext, timeout: float) -> bool:
    """Stop taking work, finish what was taken within `timeout` s; True if all done."""
    server.readiness.set_stopping()
    server.stop_accepting()
    log.info("no longer accepting connections; finishing the requests and answers in flight "
             "(at most %.0f s)", timeout)  # fmt: skip
    deadline = time.monotonic() + timeout
    acked = server.wait_requests(timeout)
    answered = ctx.idle(max(0.0, deadline - time.monotonic()))
    server.stop()
    return acked and answered


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def serve_http(ctx: BotContext, app: App, *, host: str, port: int) -> int:
    """Serve until SIGTERM/SIGINT, then drain; the exit status (0)."""
    server = SlackHTTPServer(app, ctx.settings.signing_secret, host, port, readiness=Readiness())
    stop = _stop_on_signals()
    server.start()
    start_warmup(ctx, server.readiness.set_ready)
    print(f"teamkb Slack bot: POST http://{host}:{server.port}{EVENTS_PATH}", flush=True)
    log.info("serving Slack events on port %d (waitress, %d threads)", server.port, THREADS)
    while not stop.wait(1.0):  # a timeout keeps the main thread responsive to signals
        pass
    grace = ctx.settings.shutdown_timeout_s
    if drain(server, ctx, grace):
        log.info("stopped: every answer in flight was delivered")
        return 0
    log.warning("stopped after %d s with answers still in flight; they are dropped", grace)
    logging.shutdown()
    os._exit(0)  # the answer threads cannot be interrupted; do not wait for them
