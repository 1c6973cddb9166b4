"""Hover and completion latency of `teamkb serve lsp` on a 10k-chunk index.

Synthesizes the index by repeating the example handbook's chunks with variations (each
copy under its own folder, its terms suffixed, its vector slightly perturbed) so no
embedding is needed, then drives the real server over stdio with pygls' client and
prints p50/p95. Targets: hover p95 <= 100 ms, completion p95 <= 30 ms.

Then the first hover in a real editor: headless Neovim starts the server, waits for it to
initialize and hovers a glossary term at once; repeated --first-hover times, each a fresh
Neovim and server. Target: p95 < 1 s from start. The first server on an index writes the
vocabulary snapshot (`<home>/lsp-vocabulary/`); later ones start from it, as an editor's
every start but the very first does: delete that folder to time a first start.

    python bench/lsp_latency.py [--chunks 10000] [--requests 200] [--first-hover 10]
                                [--index-home DIR]  # reuse (or keep) the index there
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import machine, median, pct  # noqa: E402  (sets the offline env too)

HANDBOOK = ROOT / "examples" / "handbook"
# All documented, so every hover must show something. Which are answered from the
# in-memory vocabulary and which by retrieval is read off the built index (vocab_words).
HOVER_WORDS = ["ledger-api", "canary", "ledger.max_batch_size", "notifier", "auth-svc",
               "payments-gateway", "blast", "rollback", "paging", "retry"]  # fmt: skip
PREFIXES = ["led", "ledger.", "pay", "can", "not", "auth", "roll", "kaf", "dis", "feat"]


def vocab_words(home: Path) -> set[str]:
    """The hover words the server answers from its vocabulary (hover_for's fast path)."""
    from engine import build_engine
    from engine.settings import GeneratorSettings, Settings
    from lsp.vocabulary import load_vocabulary

    settings = Settings(home=home, generator=GeneratorSettings(backend="none"))
    vocab = load_vocabulary(build_engine(settings, with_generator=False), "handbook")
    return {w for w in HOVER_WORDS if (e := vocab.lookup(w)) is not None and e.kind != "code"}


def build_index(home: Path, target: int) -> int:
    from engine import build_engine
    from engine.settings import CollectionSettings, GeneratorSettings, Settings
    from knowledge.documents import Chunk

    settings = Settings(home=home, collections={"handbook": CollectionSettings(
        "handbook", (str(HANDBOOK),))}, generator=GeneratorSettings(backend="none"))  # fmt: skip
    engine = build_engine(settings, with_generator=False)
    engine.sync()
    collection = engine.store.collection("handbook")
    writer = collection.writer()
    base = writer.rows([f.name for f in fields(Chunk)] + ["vector"]).to_pylist()
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    copy = 0
    while len(base) + len(rows) < target:
        copy += 1
        for r in base:
            if len(base) + len(rows) >= target:
                break
            v = np.asarray(r["vector"], dtype=np.float32) + rng.normal(0, 0.02, len(r["vector"]))
            v /= np.linalg.norm(v)
            # Vary path and a tag, not the terms people hover on: a copy that renamed
            # "ledger" would outrank the original and hide the term from the hover.
            text = f"{r['text']} (copy {copy})"
            rows.append({**r, "id": f"{r['id']}-{copy}", "source": f"copy{copy}/{r['source']}",
                         "text": text, "search_text": f"{r['search_text']} v{copy}",
                         "vector": v.astype(np.float32).tolist()})  # fmt: skip
    names = [f.name for f in fields(Chunk)]
    for i in range(0, len(rows), 2000):
        part = rows[i : i + 2000]
        writer.upsert(
            [Chunk(**{k: r[k] for k in names}) for r in part], [r["vector"] for r in part]
        )
    writer.publish()
    return writer.count()


Timings = dict[str, list[float]]


async def drive(
    toml: Path, requests: int, vocab: set[str]
) -> tuple[Timings, dict[str, int], list[float], int]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("bench", "1")
    await client.start_io(sys.executable, "-m", "teamkb", "--config", str(toml), "serve", "lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    lines = [f"x = {w}" for w in HOVER_WORDS] + [f"y = {p}" for p in PREFIXES]
    uri = "file:///bench/sample.py"
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text="\n".join(lines) + "\n")))  # fmt: skip
    doc = types.TextDocumentIdentifier(uri=uri)

    async def hover(i: int) -> tuple[float, bool]:
        t = time.perf_counter()
        r = await client.text_document_hover_async(types.HoverParams(doc, types.Position(i, 6)))
        return time.perf_counter() - t, r is not None

    async def complete(i: int) -> tuple[float, int]:
        n = len(HOVER_WORDS) + i
        t = time.perf_counter()
        r = await client.text_document_completion_async(
            types.CompletionParams(doc, types.Position(n, len(lines[n]))))  # fmt: skip
        return time.perf_counter() - t, len(r.items) if isinstance(r, types.CompletionList) else 0

    await hover(0)  # waits for the engine; not counted
    for i in range(len(HOVER_WORDS)):  # one warm-up pass per word
        await hover(i)
    rnd = random.Random(1)
    hovers: Timings = {"vocabulary": [], "retrieval": []}
    empty = {"vocabulary": 0, "retrieval": 0}
    for _ in range(requests):
        i = rnd.randrange(len(HOVER_WORDS))
        path = "vocabulary" if HOVER_WORDS[i] in vocab else "retrieval"
        took, shown = await hover(i)
        hovers[path].append(took)
        empty[path] += not shown
    comps = [await complete(rnd.randrange(len(PREFIXES))) for _ in range(requests)]
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return hovers, empty, [c[0] for c in comps], max(c[1] for c in comps)


FIRST_HOVER_LUA = r"""
local t0 = vim.loop.hrtime()
local cmd = vim.fn.json_decode(vim.fn.readfile(CMD_FILE)[1])
vim.cmd("edit " .. SAMPLE)
local buf = vim.api.nvim_get_current_buf()
local id = vim.lsp.start_client({ name = "teamkb", cmd = cmd, root_dir = ROOT })
vim.lsp.buf_attach_client(buf, id)
local client = vim.lsp.get_client_by_id(id)
vim.wait(120000, function() return client.initialized end, 1)
local t_init = vim.loop.hrtime()
local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover", { textDocument =
  { uri = vim.uri_from_bufnr(buf) }, position = { line = 0, character = 33 } }, 120000)
local t_hover = vim.loop.hrtime()
local value = ""
for _, r in pairs(hover or {}) do
  if r.result then value = r.result.contents.value end
end
vim.fn.writefile({ vim.fn.json_encode({ init = (t_init - t0) / 1e9,
  hover = (t_hover - t0) / 1e9, value = value }) }, OUT)
vim.lsp.stop_client(id)
vim.wait(3000, function() return vim.lsp.client_is_stopped(id) end, 10)
vim.cmd("qa!")
"""


def cpu_name() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    names = [ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")]
    return f"{names[0] if names else 'unknown CPU'}, {os.cpu_count()} CPUs"


def first_hovers(toml: Path, runs: int) -> list[dict[str, float | str]]:
    """Each run: a fresh headless Neovim starts the server and hovers "canary" as soon as
    the server has initialized; seconds from Neovim's start."""
    nvim = shutil.which("nvim")
    if nvim is None:
        raise SystemExit("nvim is not installed (apt-get install neovim)")
    work = toml.parent / "nvim"
    work.mkdir(exist_ok=True)
    sample, cmd_file, out = work / "notes.md", work / "cmd.json", work / "out.json"
    sample.write_text("Before a deploy, read about the canary.\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "teamkb", "--config", str(toml), "serve", "lsp"]
    cmd_file.write_text(json.dumps(cmd), encoding="utf-8")
    header = "".join(f'local {k} = "{v}"\n' for k, v in {
        "CMD_FILE": cmd_file, "SAMPLE": sample, "ROOT": work, "OUT": out}.items())  # fmt: skip
    script = work / "first_hover.lua"
    script.write_text(header + FIRST_HOVER_LUA, encoding="utf-8")
    results = []
    for _ in range(runs):
        out.unlink(missing_ok=True)
        subprocess.run([nvim, "--headless", "-u", "NONE", "-c", f"luafile {script}"],
                       timeout=300, check=True, capture_output=True)  # fmt: skip
        results.append(json.loads(out.read_text(encoding="utf-8")))
    return results


def report_first_hovers(results: list[dict[str, float | str]]) -> bool:
    init = [float(r["init"]) * 1000 for r in results]
    hover = [float(r["hover"]) * 1000 for r in results]
    shown = sum("canary" in str(r["value"]).lower() for r in results)
    print(f"first hover in Neovim ({cpu_name()}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}):")  # fmt: skip
    print(f"  initialized  n={len(init)} p50={median(init):.0f} ms p95={pct(init, 95):.0f} ms")
    p95 = pct(hover, 95)
    print(f"  first hover  n={len(hover)} p50={median(hover):.0f} ms p95={p95:.0f} ms "
          f"max={max(hover):.0f} ms (target p95 < 1000 ms: {'OK' if p95 < 1000 else 'OVER'})"
          f"; {shown}/{len(results)} showed the term")  # fmt: skip
    return shown == len(results)


def steady(toml: Path, home: Path, requests: int) -> bool:
    """Hover and completion latency once the server is warm; False if a vocabulary
    hover came back empty."""
    vocab = vocab_words(home)
    print(f"vocabulary-path words: {sorted(vocab)}")
    hovers, empty, comps, items = asyncio.run(drive(toml, requests, vocab))
    print(f"machine: {machine()}, Python {platform.python_version()}")
    rows = [("hover", hovers["vocabulary"] + hovers["retrieval"], 100),
            ("  vocabulary", hovers["vocabulary"], 100),
            ("  retrieval", hovers["retrieval"], 100),
            ("completion", comps, 30)]  # fmt: skip
    for name, xs, target in rows:
        if not xs:
            print(f"{name:<12} n=0")
            continue
        ms = [x * 1000 for x in xs]
        p95 = pct(ms, 95)
        verdict = "OK" if p95 <= target else "OVER"
        print(f"{name:<12} n={len(ms)} p50={median(ms):.1f} ms p95={p95:.1f} ms "
              f"max={max(ms):.1f} ms (target p95 {target} ms: {verdict})")  # fmt: skip
    print(f"completion items per request: up to {items}")
    print(f"empty hovers: vocabulary {empty['vocabulary']}, retrieval {empty['retrieval']}"
          " (no relevant passage names the term)")  # fmt: skip
    # Vocabulary words are known terms: an empty hover there is a fast failure, not a
    # result. A retrieval-path hover may rightly be empty (no passage names the term).
    return not empty["vocabulary"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=200, help="0: skip the warm figures")
    ap.add_argument("--first-hover", type=int, default=10, help="Neovim runs; 0: skip")
    ap.add_argument("--index-home", type=Path, help="reuse the index there, or build and keep it")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="teamkb-lsp-bench-"))
    home = args.index_home or tmp / "home"
    ok = True
    try:
        if not (home / "index").exists():
            t0 = time.perf_counter()
            n = build_index(home, args.chunks)
            print(f"index: {n} chunks built in {time.perf_counter() - t0:.0f}s")
        toml = tmp / "teamkb.toml"
        toml.write_text(f'home = "{home}"\n[generator]\nbackend = "none"\n')
        if args.requests:
            ok = steady(toml, home, args.requests)
        if args.first_hover:
            ok = report_first_hovers(first_hovers(toml, args.first_hover)) and ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not ok:
        print("FAIL: hovers that should show something came back empty", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
