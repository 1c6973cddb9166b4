"""Training throughput and peak memory of LoRA on Gemma 3 270M, the old way and the new
way side by side.

    python bench/train_throughput.py [--steps 3] [--batch 4] [--words 500]

- old: the former hand-written loop: the whole batch in one forward pass, fp32, no
  gradient checkpointing, logits (262k vocabulary) over every position, prompt included.
- new: `finetune.train.train_lora` with the default settings (`Trainer`, micro-batches
  accumulated to --batch, logits on completion tokens only, gradient checkpointing,
  bf16 where the CPU has it), and the same with bf16 off.

Each way runs in its own process so its peak RSS is its own. Synthetic examples of about
--words words of prompt each; the packaged GGUF is converted once to an HF folder under
--home.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine  # also sets the offline environment

_WORDS = ("deploy", "service", "rollback", "cache", "token", "index", "shard", "alert", "queue")
WAYS = ("old", "new", "new-fp32")


def synthetic_examples(n: int, words: int, seed: int = 0) -> list:
    import random

    from finetune.dataset import Example

    rng = random.Random(seed)
    out = []
    for i in range(n):
        prompt = " ".join(rng.choice(_WORDS) for _ in range(words)) + "\nAnswer:"
        answer = f" According to [1], the {rng.choice(_WORDS)} takes {i + 1} minutes.\n"
        out.append(Example(f"bench-{i}", "cited", f"q{i}?", prompt, answer))
    return out


def old_way(hf_dir: Path, examples: list, cfg) -> tuple[int, float]:
    """(training tokens, seconds) of the former loop: whole batch, full logits, fp32."""
    import torch

    from finetune.train import encode, load_cpu
    from finetune.trainer import collate

    torch.manual_seed(cfg.seed)
    model, tok = load_cpu(hf_dir, cfg)
    rows = [r for r in (encode(tok, e, cfg.max_seq_tokens) for e in examples) if r]
    pad = collate(tok.pad_token_id or 0)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    model.train()
    tokens, t0 = 0, time.perf_counter()
    for step in range(cfg.steps):
        part = rows[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        batch = pad([{"input_ids": i, "labels": lab} for i, lab in part])
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad()
        tokens += int(batch["attention_mask"].sum())
    return tokens, time.perf_counter() - t0


def one_way(way: str, hf_dir: Path, args: argparse.Namespace) -> dict:
    from finetune.config import FinetuneConfig
    from finetune.train import train_lora

    cfg = replace(FinetuneConfig(), steps=args.steps, batch_size=args.batch)
    cfg = replace(cfg, eval_every=args.steps + 1, bf16="off" if way == "new-fp32" else "auto")
    examples = synthetic_examples(args.batch * args.steps, args.words, cfg.seed)
    if way == "old":
        tokens, seconds = old_way(hf_dir, examples, cfg)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            tr = train_lora(hf_dir, examples, [], cfg, Path(tmp))
        tokens, seconds = tr.train_tokens, tr.seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"way": way, "tokens": tokens, "seconds": seconds, "peak_rss_gib": peak}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--words", type=int, default=500, help="prompt words per example")
    ap.add_argument("--home", type=Path, default=Path(".teamkb"))
    ap.add_argument("--ways", default=",".join(WAYS))
    ap.add_argument("--one", default="", help=argparse.SUPPRESS)  # child process: one way
    args = ap.parse_args()
    from engine.settings import Settings
    from finetune.base import prepare_base
    from finetune.config import FinetuneConfig

    hf_dir, _ = prepare_base(Settings(home=args.home.resolve()), FinetuneConfig())
    if args.one:
        print(json.dumps(one_way(args.one, hf_dir, args)))
        return
    print(f"machine: {machine()}")
    print(f"{args.steps} steps at batch {args.batch} of ~{args.words}-word prompts")
    print(f"{'way':<10} {'tokens/s':>9} {'s/step':>7} {'peak RSS':>9}")
    for way in args.ways.split(","):
        cmd = [sys.executable, __file__, "--one", way, *sys.argv[1:]]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        print(
            f"{way:<10} {r['tokens'] / r['seconds']:>9.1f} {r['seconds'] / args.steps:>7.1f} "
            f"{r['peak_rss_gib']:>7.2f} GiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
