"""LoRA training: Unsloth on CUDA, transformers + peft on CPU. One loop for both."""

from __future__ import annotations

import csv
import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import TeamkbError
from finetune.config import FinetuneConfig
from finetune.dataset import Example

log = logging.getLogger(__name__)


class TrainingError(TeamkbError):
    """Training could not run (no data, a model that does not load)."""


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path  # peft adapter (adapter_config.json + adapter_model.safetensors)
    steps: int
    best_val_loss: float | None
    stopped_early: bool
    train_tokens: int
    seconds: float
    device: str
    losses_csv: Path

    @property
    def tokens_per_s(self) -> float:
        return self.train_tokens / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "adapter_dir": str(self.adapter_dir),
            "steps": self.steps,
            "best_val_loss": self.best_val_loss,
            "stopped_early": self.stopped_early,
            "train_tokens": self.train_tokens,
            "seconds": round(self.seconds, 2),
            "tokens_per_s": round(self.tokens_per_s, 1),
            "device": self.device,
        }


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def lora_args(cfg: FinetuneConfig) -> dict[str, Any]:
    """The LoRA shape, the same whichever trainer applies it."""
    return {
        "r": cfg.rank,
        "lora_alpha": cfg.alpha,
        "lora_dropout": cfg.dropout,
        "target_modules": list(cfg.target_modules),
        "bias": "none",
    }


def load_cpu(base_dir: Path, cfg: FinetuneConfig) -> tuple[Any, Any]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(base_dir))
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    return get_peft_model(model, LoraConfig(**lora_args(cfg), task_type="CAUSAL_LM")), tok


def load_unsloth(base_dir: Path, cfg: FinetuneConfig) -> tuple[Any, Any]:
    """CUDA only. Unsloth patches torch and transformers on import, so it is imported
    here and nowhere else: CPU runs never touch it."""
    from unsloth import FastLanguageModel

    model, tok = FastLanguageModel.from_pretrained(
        model_name=str(base_dir),
        max_seq_length=cfg.max_seq_tokens,
        load_in_4bit=cfg.load_in_4bit,  # QLoRA when memory is short; 16-bit otherwise
        dtype=None,
    )
    model = FastLanguageModel.get_peft_model(
        model,
        **lora_args(cfg),
        use_gradient_checkpointing="unsloth",
        random_state=cfg.seed,
    )
    return model, tok


def encode(tok: Any, ex: Example, max_tokens: int) -> tuple[list[int], list[int]] | None:
    """Token ids and labels (-100 on the prompt: only the answer is learnt). BOS is
    added by hand because llama.cpp adds it to every completion prompt."""
    prompt = tok(ex.prompt, add_special_tokens=False)["input_ids"]
    answer = tok(ex.completion, add_special_tokens=False)["input_ids"]
    bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
    ids = bos + prompt + answer
    if len(ids) > max_tokens:
        return None  # a cut prompt would not be the prompt the engine sends
    return ids, [-100] * (len(bos) + len(prompt)) + answer


def _batches(rows: Sequence[tuple[list[int], list[int]]], size: int, pad: int, rng: random.Random):
    import torch

    order = list(range(len(rows)))
    while True:
        rng.shuffle(order)
        for i in range(0, len(order), size):
            yield _collate([rows[j] for j in order[i : i + size]], pad, torch)


def _collate(batch: Sequence[tuple[list[int], list[int]]], pad: int, torch: Any) -> dict[str, Any]:
    width = max(len(ids) for ids, _ in batch)
    ids = [x + [pad] * (width - len(x)) for x, _ in batch]
    labels = [y + [-100] * (width - len(y)) for _, y in batch]
    mask = [[1] * len(x) + [0] * (width - len(x)) for x, _ in batch]
    return {
        "input_ids": torch.tensor(ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


def _val_loss(
    model: Any, rows: Sequence[tuple[list[int], list[int]]], pad: int, size: int, device: str
) -> float:
    import torch

    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(rows), size):
            b = {k: v.to(device) for k, v in _collate(rows[i : i + size], pad, torch).items()}
            total += float(model(**b).loss) * len(rows[i : i + size])
            n += len(rows[i : i + size])
    model.train()
    return total / max(n, 1)


def train_lora(
    base_dir: Path,
    train: Sequence[Example],
    val: Sequence[Example],
    cfg: FinetuneConfig,
    out_dir: Path,
    *,
    on_step: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train, keep the adapter with the best validation loss, stop early after
    `patience` evaluations without improvement. Loss curves go to losses.csv/json."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    torch.manual_seed(cfg.seed)
    device = "cuda" if cuda_available() else "cpu"
    model, tok = load_unsloth(base_dir, cfg) if device == "cuda" else load_cpu(base_dir, cfg)
    model.to(device)
    rows = [r for r in (encode(tok, e, cfg.max_seq_tokens) for e in train) if r]
    vrows = [r for r in (encode(tok, e, cfg.max_seq_tokens) for e in val) if r][:64]
    if not rows:
        raise TrainingError(
            "No training example fits max_seq_tokens; raise it or use fewer passages_per_example."
        )
    pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate
    )
    # linear warm-up over the first tenth of the steps, then cosine decay to zero
    sched = get_cosine_schedule_with_warmup(
        opt, num_warmup_steps=max(1, cfg.steps // 10), num_training_steps=cfg.steps
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    adapter_dir = out_dir / "adapter"
    history: list[dict[str, Any]] = []
    best, bad_evals, stopped, tokens = math.inf, 0, False, 0
    batches = _batches(rows, cfg.batch_size, pad, random.Random(cfg.seed))
    model.train()
    t0 = time.perf_counter()
    step = 0
    for step in range(1, cfg.steps + 1):
        b = {k: v.to(device) for k, v in next(batches).items()}
        loss = model(**b).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        tokens += int(b["attention_mask"].sum())
        rec: dict[str, Any] = {"step": step, "train_loss": round(loss.item(), 5), "val_loss": None}
        if on_step:
            on_step(step)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            if not vrows:
                # No validation data: training loss is too noisy to select or stop on,
                # so the latest adapter is kept and training runs all its steps.
                model.save_pretrained(str(adapter_dir))
            else:
                v = _val_loss(model, vrows, pad, cfg.batch_size, device)
                rec["val_loss"] = round(v, 5)
                if v < best - cfg.min_delta:
                    best, bad_evals = v, 0
                    model.save_pretrained(str(adapter_dir))
                else:
                    bad_evals += 1
        history.append(rec)
        if bad_evals >= cfg.patience:
            stopped = True
            log.info("early stop at step %d (best validation loss %.4f)", step, best)
            break
    seconds = time.perf_counter() - t0
    if not adapter_dir.exists():
        model.save_pretrained(str(adapter_dir))
    csv_path = out_dir / "losses.csv"
    with csv_path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["step", "train_loss", "val_loss"])
        w.writeheader()
        w.writerows(history)
    (out_dir / "losses.json").write_text(json.dumps(history), "utf-8")
    return TrainResult(
        adapter_dir,
        step,
        None if math.isinf(best) else best,
        stopped,
        tokens,
        seconds,
        device,
        csv_path,
    )
