"""Soak: concurrent Slack commands and editor hovers while an index run publishes.

Everything runs on this machine over loopback, bounded in count and time:

- `teamkb serve slack --http` (waitress) over a copy of the example handbook, answering
  through the stand-in Ollama; the stand-in Slack records every response_url post;
- `teamkb serve lsp` over the same index, driven by pygls' client over stdio;
- meanwhile `teamkb index` re-indexes the handbook with an edited page, so a new
  version is published while both servers read.

Reported: errors, ack p99 of the `/kb` burst, hover p99, answers delivered more or fewer
times than once, duplicate chunk ids in the published index afterwards, and whether the
index run succeeded. Exits 1 if any of those is wrong.

    python bench/soak.py                   # 200 /kb + 1000 hovers
    python bench/soak.py --kb 50 --hovers 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench._common import machine, pct  # noqa: E402
from bench.slack_ack import command, server, wait_ready, write_config  # noqa: E402
from tests.conftest import HANDBOOK  # noqa: E402
from tests.fakes.ollama_server import FakeOllama  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402

HOVER_LINES = ["x = ledger-api", "y = canary", "z = rollback", "w = on-call", "v = shipit"]
DEADLINE_S = 900  # the whole soak stops by itself after this


def teamkb(toml: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "teamkb", "--config", str(toml), *args]
    return subprocess.run(
        cmd, env=env, cwd=ROOT, text=True, capture_output=True, timeout=DEADLINE_S
    )


async def hovers(toml: Path, n: int, started: asyncio.Event) -> tuple[list[float], int]:
    """`n` hovers, a few in flight at once; (latencies, errors)."""
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("soak", "1")
    ready = asyncio.Event()

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams) -> None:
        # Time hovers against a loaded server: start-up is bench/lsp_latency.py's job.
        if "engine ready" in params.message:
            ready.set()

    await client.start_io(sys.executable, "-m", "teamkb", "--config", str(toml), "serve", "lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = "file:///soak/sample.py"
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text="\n".join(HOVER_LINES) + "\n")))  # fmt: skip
    doc = types.TextDocumentIdentifier(uri=uri)
    await asyncio.wait_for(ready.wait(), 300)
    started.set()
    latencies: list[float] = []
    errors = 0
    gate = asyncio.Semaphore(4)

    async def one(i: int) -> None:
        nonlocal errors
        async with gate:
            t = time.perf_counter()
            try:
                pos = types.Position(i % len(HOVER_LINES), 6)
                await asyncio.wait_for(
                    client.text_document_hover_async(types.HoverParams(doc, pos)), 60
                )
                latencies.append(time.perf_counter() - t)
            except Exception:
                errors += 1

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return latencies, errors


def duplicate_ids(toml: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from engine import build_engine
    from teamkb.config import load_settings

    engine = build_engine(load_settings(toml), with_generator=False)
    ids = [p.id for p in engine.chunks("handbook")]
    return len(ids) - len(set(ids))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", type=int, default=200, help="concurrent /kb commands")
    ap.add_argument("--hovers", type=int, default=1000, help="hovers")
    ap.add_argument("--gen-delay", type=float, default=0.05, help="seconds per generation")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as slack, \
            FakeOllama(delay_s=args.gen_delay) as ollama:  # fmt: skip
        home, docs = Path(tmp), Path(tmp) / "handbook"
        shutil.copytree(HANDBOOK, docs)
        toml = write_config(home, ollama.url, 2, docs=docs, per_minute=100_000)
        first = teamkb(toml, "index")
        if first.returncode != 0:
            raise SystemExit(f"index failed: {first.stderr}")
        with server("waitress", toml, slack, 32) as port:
            wait_ready(port)
            return run(args, toml, docs, port, slack)


def run(args: argparse.Namespace, toml: Path, docs: Path, port: int, slack: FakeSlack) -> int:
    loop = asyncio.new_event_loop()
    started = asyncio.Event()
    lsp = loop.create_task(hovers(toml, args.hovers, started))
    loop.run_until_complete(started.wait())
    # An edited page: the index run publishes a new version while both servers read.
    page = docs / "deploys" / "rollback.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n\nSoak edit.\n", encoding="utf-8")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as side:
        indexing = side.submit(teamkb, toml, "index")
        with ThreadPoolExecutor(max_workers=50) as pool:
            acks = list(pool.map(lambda i: command(port, slack, f"s{i}"), range(args.kb)))
        hover_lat, hover_err = loop.run_until_complete(lsp)
        indexed = indexing.result()
    rids = [a[2] for a in acks]
    slack.wait_for(lambda s: all(s.responses.get(r) for r in rids), timeout=DEADLINE_S)
    took = time.perf_counter() - t0
    loop.close()
    counts = [len(slack.responses.get(r, [])) for r in rids]
    ack_ms = [a[1] * 1000 for a in acks]
    ack_err = sum(1 for a in acks if a[0] != 200)
    dups = duplicate_ids(toml)
    hover_ms = [h * 1000 for h in hover_lat]
    print(f"machine: {machine()}, Python {sys.version.split()[0]}")
    print(f"{args.kb} concurrent /kb and {args.hovers} hovers during an index run, {took:.0f} s")
    print(f"/kb: {ack_err} errors, ack p50 {pct(ack_ms, 50):.0f} ms, p99 {pct(ack_ms, 99):.0f} ms; "
          f"answers {sum(c == 1 for c in counts)} once, {sum(c > 1 for c in counts)} twice or "
          f"more, {sum(c == 0 for c in counts)} missing")  # fmt: skip
    print(f"hovers: {hover_err} errors, p50 {pct(hover_ms, 50):.1f} ms, "
          f"p99 {pct(hover_ms, 99):.1f} ms")  # fmt: skip
    print(f"index run: exit {indexed.returncode}; duplicate chunk ids after: {dups}")
    ok = not ack_err and not hover_err and all(c == 1 for c in counts)
    return 0 if ok and indexed.returncode == 0 and dups == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
