"""Training throughput of the CPU LoRA path (transformers + peft) on Gemma 3 270M.

    python bench/train_throughput.py [--steps 3] [--batch 8] [--seq 43]

Loads the packaged GGUF through transformers (dequantised to fp32; cached as an HF
folder under the data home), adds the configured LoRA (q/k/v/o) and times a few
optimiser steps on random tokens. Prints tokens/s and s/step.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=43)
    ap.add_argument("--home", type=Path, default=Path(".teamkb"))
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from engine.settings import Settings
    from finetune.config import FinetuneConfig
    from finetune.pipeline import prepare_base
    from finetune.train import load_cpu

    cfg = FinetuneConfig()
    t0 = time.perf_counter()
    hf_dir, _ = prepare_base(Settings(home=args.home.resolve()), cfg)
    model, tok = load_cpu(hf_dir, cfg)
    load_s = time.perf_counter() - t0
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(10, len(tok) - 10, (args.batch, args.seq))
    model.train()
    times = []
    for _ in range(args.steps + 1):  # the first step warms up allocators
        t = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t)
    step_s = sum(times[1:]) / args.steps
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPU cores, torch {torch.__version__} threads "
        f"{torch.get_num_threads()}"
    )
    print(f"model load + LoRA: {load_s:.1f} s; rank {cfg.rank} on {','.join(cfg.target_modules)}")
    print(
        f"batch {args.batch} x {args.seq} tokens: {step_s:.2f} s/step, "
        f"{args.batch * args.seq / step_s:.0f} training tokens/s"
    )


if __name__ == "__main__":
    main()
