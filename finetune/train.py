"""LoRA training: Unsloth on CUDA, transformers + peft on CPU. One loop for both."""

from __future__ import annotations

import csv
import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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

    torch.manual_seed(cfg.seed)
    device = "cuda" if cuda_available() else "cpu"
    model, tok = load_unsloth(base_dir, cfg) if device == "cuda" else load_cpu(base_dir, cfg)
    model.to(device)
    rows, vrows = _encode_splits(tok, train, val, cfg.max_seq_tokens)
    pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    out_dir.mkdir(parents=True, exist_ok=True)
    loop = _Loop(model, device, pad, vrows, out_dir / "adapter", *_optimizer(model, cfg))
    batches = _batches(rows, cfg.batch_size, pad, random.Random(cfg.seed))
    model.train()
    t0 = time.perf_counter()
    step, stopped = 0, False
    for step in range(1, cfg.steps + 1):
        rec = {"step": step, "train_loss": _step(loop, next(batches)), "val_loss": None}
        if on_step:
            on_step(step)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            rec["val_loss"] = _validate(loop, cfg)
        loop.history.append(rec)
        if loop.bad_evals >= cfg.patience:
            stopped = True
            log.info("early stop at step %d (best validation loss %.4f)", step, loop.best)
            break
    seconds = time.perf_counter() - t0
    if not loop.adapter_dir.exists():
        model.save_pretrained(str(loop.adapter_dir))
    csv_path = _write_losses(out_dir, loop.history)
    best = None if math.isinf(loop.best) else loop.best
    return TrainResult(
        loop.adapter_dir, step, best, stopped, loop.tokens, seconds, device, csv_path
    )


@dataclass
class _Loop:
    """The training loop's state from one step to the next."""

    model: Any
    device: str
    pad: int
    vrows: list[tuple[list[int], list[int]]]  # validation rows; empty: no selection
    adapter_dir: Path
    opt: Any
    sched: Any
    best: float = math.inf
    bad_evals: int = 0
    tokens: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def _encode_splits(
    tok: Any, train: Sequence[Example], val: Sequence[Example], max_tokens: int
) -> tuple[list[tuple[list[int], list[int]]], list[tuple[list[int], list[int]]]]:
    """Encoded training and validation rows; validation capped at 64 to keep evaluations
    cheap."""
    rows = [r for r in (encode(tok, e, max_tokens) for e in train) if r]
    vrows = [r for r in (encode(tok, e, max_tokens) for e in val) if r][:64]
    if not rows:
        raise TrainingError(
            "No training example fits max_seq_tokens; raise it or use fewer passages_per_example."
        )
    return rows, vrows


def _optimizer(model: Any, cfg: FinetuneConfig) -> tuple[Any, Any]:
    import torch
    from transformers import get_cosine_schedule_with_warmup

    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate
    )
    # linear warm-up over the first tenth of the steps, then cosine decay to zero
    sched = get_cosine_schedule_with_warmup(
        opt, num_warmup_steps=max(1, cfg.steps // 10), num_training_steps=cfg.steps
    )
    return opt, sched


def _step(loop: _Loop, batch: dict[str, Any]) -> float:
    """One optimiser step; returns the batch's training loss (rounded as logged)."""
    import torch

    b = {k: v.to(loop.device) for k, v in batch.items()}
    loss = loop.model(**b).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(loop.model.parameters(), 1.0)
    loop.opt.step()
    loop.sched.step()
    loop.opt.zero_grad()
    loop.tokens += int(b["attention_mask"].sum())
    return round(loss.item(), 5)


def _validate(loop: _Loop, cfg: FinetuneConfig) -> float | None:
    """Save the adapter if it is the best so far; returns the validation loss (None
    without validation data)."""
    if not loop.vrows:
        # No validation data: training loss is too noisy to select or stop on,
        # so the latest adapter is kept and training runs all its steps.
        loop.model.save_pretrained(str(loop.adapter_dir))
        return None
    v = _val_loss(loop.model, loop.vrows, loop.pad, cfg.batch_size, loop.device)
    if v < loop.best - cfg.min_delta:
        loop.best, loop.bad_evals = v, 0
        loop.model.save_pretrained(str(loop.adapter_dir))
    else:
        loop.bad_evals += 1
    return round(v, 5)


def _write_losses(out_dir: Path, history: Sequence[dict[str, Any]]) -> Path:
    csv_path = out_dir / "losses.csv"
    with csv_path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["step", "train_loss", "val_loss"])
        w.writeheader()
        w.writerows(history)
    (out_dir / "losses.json").write_text(json.dumps(history), "utf-8")
    return csv_path
