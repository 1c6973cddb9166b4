"""Slash-command acknowledgement latency under a burst, under the production server.

The server runs as its own process, as in production: `teamkb serve slack --http`
(waitress, the default), or gunicorn (gthread) over the same WSGI app, to compare.
The real engine over the example handbook answers through the stand-in Ollama with a
fixed generation delay; the stand-in Slack (tests/fakes/slack_api.py) records every
response_url post. Reported:

- start → /health 200: the engine, index and model loaded in the background;
- the first answer after /health 200 against a later one (the first must not be slow);
- a burst of N concurrent signed `/kb`: ack p50/p99, none dropped (every ack 200 within
  3 s), every answer delivered exactly once.

    python bench/slack_ack.py                     # waitress, 50 commands, 0.5 s generation
    python bench/slack_ack.py --server gunicorn   # needs `pip install gunicorn`
    python bench/slack_ack.py --cold              # first /kb sent before /health is 200
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench._common import machine, pct  # noqa: E402
from engine import build_engine  # noqa: E402
from tests.conftest import HANDBOOK, make_settings  # noqa: E402
from tests.fakes.ollama_server import FakeOllama  # noqa: E402
from tests.fakes.slack_api import FakeSlack, signed_headers  # noqa: E402

SECRET = "bench-secret"
QUESTIONS = [
    "how do I roll back a deploy?", "who is next when primary on-call doesn't ack?",
    "how do I push ledger-api to production?", "what do I do when the disk is full?",
    "how do I rotate the database password?", "how much traffic does the canary get?",
]  # fmt: skip


def write_config(
    home: Path, ollama_url: str, workers: int, *, docs: Path = HANDBOOK, per_minute: int = 1000
) -> Path:
    toml = home / "teamkb.toml"
    toml.write_text(
        f'home = "{home}"\ndefault_collection = "handbook"\nanswer_cache = false\n'
        f'[collections.handbook]\npaths = ["{docs}"]\n'
        f'[generator]\nbackend = "ollama"\nollama_host = "{ollama_url}"\n'
        'ollama_model = "gemma3:270m"\nuse_adapter = false\ntimeout_s = 120\n'
        f"[slack]\nworkers = {workers}\nrate_limit_per_minute = {per_minute}\n",
        encoding="utf-8",
    )
    return toml


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(kind: str, toml: Path, slack: FakeSlack, threads: int) -> Iterator[int]:
    """Start the server process; yields its port once it listens."""
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": slack.api_url, "PYTHONPATH": str(ROOT),
           "TEAMKB_BENCH_CONFIG": str(toml)}  # fmt: skip
    if kind == "waitress":
        cmd = [sys.executable, "-m", "teamkb", "--config", str(toml), "serve", "slack",
               "--http", "--host", "127.0.0.1", "--port", "0"]  # fmt: skip
        port = 0
    else:
        port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1",
               "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--timeout", "120",
               "--log-level", "warning", "bench._slack_gunicorn:app()"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE)
    try:
        if not port:  # "teamkb Slack bot: POST http://127.0.0.1:PORT/slack/events"
            assert proc.stdout is not None
            port = int(proc.stdout.readline().rsplit(":", 1)[1].split("/")[0])
        yield port
    finally:
        proc.terminate()
        proc.wait(60)


def health(port: int) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/health")
        return conn.getresponse().status
    except OSError:
        return 0


def wait_ready(port: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while health(port) != 200:
        if time.monotonic() > deadline:
            raise SystemExit("server never became ready")
        time.sleep(0.05)


def command(port: int, slack: FakeSlack, i: int | str) -> tuple[int, float, str]:
    """POST one signed /kb; (status, ack seconds, response id)."""
    rid = f"b{i}"
    body = urlencode({
        "team_id": "T1", "channel_id": "C1", "user_id": f"U{i}", "command": "/kb",
        "text": QUESTIONS[sum(map(ord, rid)) % len(QUESTIONS)],
        "response_url": slack.response_url(rid),
        "trigger_id": f"t{i}", "api_app_id": "A1",
    })  # fmt: skip
    req = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=body.encode(),
                                 method="POST", headers=signed_headers(SECRET, body))  # fmt: skip
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            ok = resp.status == 200 and "Searching" in resp.read().decode()
            return (200 if ok else 500), time.perf_counter() - start, rid
    except Exception:
        return 0, time.perf_counter() - start, rid


def answered(port: int, slack: FakeSlack, i: int | str) -> float:
    """Seconds from sending one /kb to its answer arriving at the response_url."""
    t0 = time.perf_counter()
    _, _, rid = command(port, slack, i)
    slack.wait_for(lambda s: s.responses.get(rid), timeout=300)
    return time.perf_counter() - t0


def burst(port: int, slack: FakeSlack, n: int) -> tuple[list[tuple[int, float, str]], float]:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(lambda i: command(port, slack, i), range(n)))
    rids = [r[2] for r in results]
    slack.wait_for(lambda s: all(s.responses.get(rid) for rid in rids), timeout=600)
    delivered = time.perf_counter() - t0
    time.sleep(0.5)  # anything sent twice would show up now
    return results, delivered


Results = list[tuple[int, float, str]]


def report(args: argparse.Namespace, startup: dict[str, float], results: Results,
           delivered: float, slack: FakeSlack) -> bool:  # fmt: skip
    lat = [r[1] * 1000 for r in results]
    failed = [r for r in results if r[0] != 200 or r[1] >= 3.0]
    counts = [len(slack.responses.get(r[2], [])) for r in results]
    real = sum(1 for r in results for a in slack.responses.get(r[2], [])[:1]
               if a.get("blocks") and "Sources" in json.dumps(a))  # fmt: skip
    print(f"machine: {machine()}, Python {sys.version.split()[0]}")
    print(f"server: {args.server} ({args.threads} threads), {args.workers} answer workers, "
          f"generation {args.gen_delay:.2f} s each")  # fmt: skip
    ready = "listening (--cold)" if args.cold else "/health 200"
    print("start → {ready}: {took:.1f} s; first answer {first:.2f} s, next {next:.2f} s"
          .format(ready=ready, took=startup["ready"], first=startup["first"],
                  next=startup["next"]))  # fmt: skip
    print(f"burst of {args.n} concurrent /kb: ack ms p50 {statistics.median(lat):.1f}  "
          f"p99 {pct(lat, 99):.1f}  max {max(lat):.1f}")  # fmt: skip
    print(f"dropped or late (>3 s) acks: {len(failed)}")
    print(f"answers: {sum(c == 1 for c in counts)}/{args.n} exactly once, "
          f"{sum(c > 1 for c in counts)} twice or more, {sum(c == 0 for c in counts)} missing; "
          f"{real} with sources; all delivered after {delivered:.1f} s")  # fmt: skip
    first_ok = startup["first"] < startup["next"] + 1.0  # the first is not the slow one
    return (not failed and all(c == 1 for c in counts) and real == args.n
            and pct(lat, 99) < 1000 and (first_ok or args.cold))  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", choices=("waitress", "gunicorn"), default="waitress")
    ap.add_argument("--n", type=int, default=50, help="concurrent slash commands")
    ap.add_argument("--gen-delay", type=float, default=0.5, help="seconds per generation")
    ap.add_argument("--workers", type=int, default=2, help="answers generated at once")
    ap.add_argument("--threads", type=int, default=32, help="gunicorn threads (waitress: 32)")
    ap.add_argument("--cold", action="store_true", help="first /kb before /health is 200")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as slack, \
            FakeOllama(delay_s=args.gen_delay) as ollama:  # fmt: skip
        home = Path(tmp)
        settings = make_settings(home, answer_cache=False)
        build_engine(settings, with_generator=False).sync()  # the index the server opens
        toml = write_config(home, ollama.url, args.workers)
        t0 = time.perf_counter()
        with server(args.server, toml, slack, args.threads) as port:
            if not args.cold:
                wait_ready(port)
            ready = time.perf_counter() - t0
            first = answered(port, slack, "first")
            startup = {"ready": ready, "first": first, "next": answered(port, slack, "next")}
            results, delivered = burst(port, slack, args.n)
    ok = report(args, startup, results, delivered, slack)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
