"""Slash-command acknowledgement latency under a burst, while answers are generated.

The real Bolt app on a loopback port (bot.http_server), the real engine over the example
handbook, answering through the stand-in Ollama server with a fixed generation delay,
and the stand-in Slack (tests/fakes/slack_api.py) recording every response_url post.
A burst of N concurrent, signed `/kb` commands is fired; we report ack latency p50/p99,
that none was dropped (every ack 200 within 3 s), and that every answer arrived once.

    python bench/slack_ack.py                 # 50 commands, 0.5 s generation, 2 workers
    python bench/slack_ack.py --n 100 --gen-delay 1.0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from slack_sdk import WebClient  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.context import BotContext  # noqa: E402
from bot.http_server import SlackHTTPServer  # noqa: E402
from bot.settings import SlackSettings  # noqa: E402
from engine import build_engine  # noqa: E402
from engine.settings import GeneratorSettings  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.fakes.ollama_server import FakeOllama  # noqa: E402
from tests.fakes.slack_api import FakeSlack, signed_headers  # noqa: E402

SECRET = "bench-secret"
QUESTIONS = [
    "how do I roll back a deploy?", "who is next when primary on-call doesn't ack?",
    "how do I push ledger-api to production?", "what do I do when the disk is full?",
    "how do I rotate the database password?", "how much traffic does the canary get?",
]  # fmt: skip


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="concurrent slash commands")
    ap.add_argument("--gen-delay", type=float, default=0.5, help="seconds per generation")
    ap.add_argument("--workers", type=int, default=2, help="answers generated at once")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as slack, \
            FakeOllama(delay_s=args.gen_delay) as ollama:  # fmt: skip
        home = Path(tmp)
        t0 = time.perf_counter()
        settings = make_settings(home, answer_cache=False, generator=GeneratorSettings(
            backend="ollama", ollama_host=ollama.url, use_adapter=False, timeout_s=30))  # fmt: skip
        engine = build_engine(settings)
        engine.sync()
        print(f"index built in {time.perf_counter() - t0:.1f} s")
        bot_settings = SlackSettings(
            home=home / "bot", signing_secret=SECRET, bot_token="xoxb-bench",
            api_url=slack.api_url, rate_limit_per_minute=1000, workers=args.workers,
        )  # fmt: skip
        ctx = BotContext(engine, bot_settings)
        app = create_app(ctx, WebClient(token="xoxb-bench", base_url=slack.api_url))
        server = SlackHTTPServer(app, SECRET, host="127.0.0.1", port=0).start()
        url = f"http://127.0.0.1:{server.port}/slack/events"

        def command(i: int) -> tuple[int, float, str]:
            rid = f"b{i}"
            body = urlencode({
                "team_id": "T1", "channel_id": "C1", "user_id": f"U{i}", "command": "/kb",
                "text": QUESTIONS[i % len(QUESTIONS)], "response_url": slack.response_url(rid),
                "trigger_id": f"t{i}", "api_app_id": "A1",
            })  # fmt: skip
            req = urllib.request.Request(url, data=body.encode(), method="POST",
                                         headers=signed_headers(SECRET, body))  # fmt: skip
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    ok = resp.status == 200 and "Searching" in resp.read().decode()
                    return (200 if ok else 500), time.perf_counter() - start, rid
            except Exception:
                return 0, time.perf_counter() - start, rid

        command(-1)  # warm-up: first embedding, first auth.test; not measured
        slack.wait_for(lambda s: s.responses.get("b-1"), timeout=60)

        t_burst = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.n) as pool:
            results = list(pool.map(command, range(args.n)))
        acked = time.perf_counter() - t_burst
        ctx.idle(timeout=600)
        delivered = time.perf_counter() - t_burst
        time.sleep(0.5)  # anything sent twice would show up now

        lat = [r[1] * 1000 for r in results]
        failed = [r for r in results if r[0] != 200 or r[1] >= 3.0]
        counts = [len(slack.responses.get(r[2], [])) for r in results]
        answers = [slack.responses[r[2]][0] for r in results if slack.responses.get(r[2])]
        real = sum(1 for a in answers if a.get("blocks") and "Sources" in json.dumps(a))
        server.stop()
        ctx.close()

    print(f"machine: {os.cpu_count()}-core CPU, {cpu_name()}, {platform.system()} "
          f"{platform.machine()}, Python {platform.python_version()}")  # fmt: skip
    print(f"burst: {args.n} concurrent /kb, generation {args.gen_delay:.2f} s each, "
          f"{args.workers} answer workers")  # fmt: skip
    print(f"ack latency ms: p50 {statistics.median(lat):.1f}  p99 {pct(lat, 99):.1f}  "
          f"max {max(lat):.1f}  (all {args.n} acked in {acked:.2f} s)")  # fmt: skip
    print(f"dropped or late (>3 s) acks: {len(failed)}")
    print(f"answers delivered: {sum(1 for c in counts if c == 1)}/{args.n} exactly once, "
          f"{sum(1 for c in counts if c > 1)} twice or more, {sum(1 for c in counts if c == 0)} "
          f"missing; {real} with sources; all delivered after {delivered:.1f} s")  # fmt: skip
    # Every answer delivered once, and a real answer (with sources), not the error text.
    ok = not failed and all(c == 1 for c in counts) and real == args.n and pct(lat, 99) < 1000
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
