"""End-to-end `ask` latency on the embedded backend (llama.cpp, Gemma 3 270M), split into
retrieval, prompt processing and generation, plus first-token latency when streaming and
the latency of a cached answer.

    python bench/ask_latency.py [--config teamkb.toml] [--questions N]

Run `teamkb index` first. Uses the answerable questions of
examples/handbook-questions.jsonl.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, median, pct
from engine import build_engine
from teamkb.config import load_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", type=Path)
    ap.add_argument("--questions", type=int, default=12)
    args = ap.parse_args()
    rows = [
        json.loads(x)
        for x in Path("examples/handbook-questions.jsonl").read_text().splitlines()
        if x.strip()
    ]
    answerable = [r["question"] for r in rows if r["kind"] == "answerable"]
    questions = answerable[: args.questions]
    with tempfile.TemporaryDirectory() as cache_home:
        settings = load_settings(args.config)
        engine = build_engine(settings)
        # A private answer cache, so earlier runs cannot make this one look fast.
        from state import AnswerCache

        engine.search("warm up")  # load the embedder
        # Load the model with a question that is answered, not declined (a declined
        # warm-up leaves the model load inside the first timed answer), and not timed:
        # a timed repeat of it would find its whole prompt in llama.cpp's cache.
        engine.cache = None
        for warm in answerable[args.questions :] or answerable[-1:]:
            if "prompt" in engine.ask(warm).timings:
                break
        engine.cache = AnswerCache(Path(cache_home) / "answers.sqlite")
        engine.settings = dataclasses.replace(settings, answer_cache=True)
        split: dict[str, list[float]] = {}
        for q in questions:
            events = list(engine.ask_stream(q))
            answer = events[-1].answer
            assert answer is not None
            t = answer.timings
            if "prompt" not in t:  # declined before generating: no generation stages
                continue
            # llama.cpp processes the whole prompt before the first token: prefill is the
            # first-token time, decoding is the rest of generation.
            stages = {
                "retrieval": t["retrieval"],
                # quote selection: split the prompt's passages, embed them in one batch
                "evidence": t.get("evidence", 0.0),
                "prompt build": t["prompt"],
                "prefill": t["first_token"],
                "decode": t["generation"] - t["first_token"],
                "check": t.get("check", 0.0),  # every sentence against its passage
                "total": t["total"],
            }
            for key, value in stages.items():
                split.setdefault(key, []).append(value * 1000)
        cached = []
        for q in questions:
            t0 = time.perf_counter()
            a = engine.ask(q)
            cached.append((time.perf_counter() - t0) * 1000)
            assert a.cached or a.degraded
    total = median(split["total"])
    print(f"machine: {machine()}")
    print(f"model: {engine.generator.model if engine.generator else '-'}, "
          f"{len(questions)} questions")  # fmt: skip
    print(f"{'stage':12} {'p50 ms':>8} {'p95 ms':>8} {'share of total':>15}")
    for key, vals in split.items():
        print(f"{key:12} {pct(vals, 50):8.0f} {pct(vals, 95):8.0f} {median(vals) / total:15.1%}")
    print("(first token with --stream = retrieval + prompt build + prefill)")
    print(f"{'cached':12} {pct(cached, 50):8.2f} {pct(cached, 95):8.2f}   (target < 20 ms)")


if __name__ == "__main__":
    main()
