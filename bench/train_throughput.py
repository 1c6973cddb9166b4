"""Training throughput of the LoRA path (`finetune.train.train_lora`) on Gemma 3 270M.

    python bench/train_throughput.py [--steps 3] [--batch 4] [--words 500]

Loads the packaged GGUF through transformers (dequantised to fp32; cached as an HF
folder under the data home) and runs the real training loop, the one `teamkb retrain`
runs, on synthetic examples of about --words words of prompt each. Prints the same
tokens/s as the retrain report, and s/step.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine  # also sets the offline environment

_WORDS = ("deploy", "service", "rollback", "cache", "token", "index", "shard", "alert", "queue")


def synthetic_examples(n: int, words: int, seed: int = 0) -> list:
    from finetune.dataset import Example

    rng = random.Random(seed)
    out = []
    for i in range(n):
        prompt = " ".join(rng.choice(_WORDS) for _ in range(words)) + "\nAnswer:"
        answer = f" According to [1], the {rng.choice(_WORDS)} takes {i + 1} minutes.\n"
        out.append(Example(f"bench-{i}", "cited", f"q{i}?", prompt, answer))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--words", type=int, default=500, help="prompt words per example")
    ap.add_argument("--home", type=Path, default=Path(".teamkb"))
    args = ap.parse_args()
    import torch

    from engine.settings import Settings
    from finetune.base import prepare_base
    from finetune.config import FinetuneConfig
    from finetune.train import train_lora

    cfg = FinetuneConfig()
    cfg = replace(cfg, steps=args.steps, batch_size=args.batch, eval_every=args.steps + 1)
    t0 = time.perf_counter()
    hf_dir, _ = prepare_base(Settings(home=args.home.resolve()), cfg)
    prep_s = time.perf_counter() - t0
    examples = synthetic_examples(max(args.batch * args.steps, 8), args.words, cfg.seed)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        tr = train_lora(hf_dir, examples, [], cfg, Path(tmp))
        total_s = time.perf_counter() - t0
    print(f"machine: {machine()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(
        f"base prepared in {prep_s:.1f} s; model load + LoRA + save {total_s - tr.seconds:.1f} s; "
        f"rank {cfg.rank} on {','.join(cfg.target_modules)}, device {tr.device}"
    )
    print(
        f"{tr.steps} steps at batch {args.batch} of ~{args.words}-word prompts: "
        f"{tr.seconds / max(tr.steps, 1):.2f} s/step, {tr.tokens_per_s:.0f} training tokens/s"
    )


if __name__ == "__main__":
    main()
