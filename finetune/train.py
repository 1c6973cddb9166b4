"""LoRA training: Unsloth on CUDA, transformers + peft on CPU, both driven by
`transformers.Trainer` (accumulation, cosine schedule, evaluation, best-checkpoint
selection, `EarlyStoppingCallback`).

Hand-written, and why: the loss (`finetune.loss`: logits on completion positions only,
which neither `Trainer` nor TRL 1.16 does on CPU) and the progress line
(`finetune.progress`). TRL's `SFTTrainer` would add `datasets`, `pandas` and `pyarrow` for
data this module already tokenises the way the engine prompts.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune.config import FinetuneConfig
from finetune.dataset import Example
from finetune.errors import TrainingError

log = logging.getLogger(__name__)


__all__ = ["TrainResult", "TrainingError", "train_lora"]

# Validation rows per evaluation: each costs a forward pass of ~700 tokens on CPU, and a
# few dozen already rank checkpoints reliably.
VAL_ROWS = 24


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


def cpu_has_bf16() -> bool:
    """AVX512-BF16 or AMX-BF16: without them bf16 is emulated on CPU, and slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(cfg: FinetuneConfig, device: str) -> bool:
    """bf16 autocast (weights stay fp32). `auto`: where the hardware has it; on CPU that
    measured faster here (docs/decisions/retraining-defaults.md)."""
    if cfg.bf16 != "auto":
        return cfg.bf16 == "on"
    if device == "cuda":
        import torch

        return bool(torch.cuda.is_bf16_supported())
    return cpu_has_bf16()


def train_lora(
    base_dir: Path,
    train: Sequence[Example],
    val: Sequence[Example],
    cfg: FinetuneConfig,
    out_dir: Path,
) -> TrainResult:
    """Train, keep the adapter with the best validation loss, stop early after
    `patience` evaluations without improvement. Loss curves go to losses.csv/json."""
    import torch
    from transformers.utils import logging as hf_logging

    from finetune.progress import TokenCount
    from finetune.trainer import make_trainer, training_args

    torch.manual_seed(cfg.seed)  # the LoRA's initial weights
    hf_logging.disable_progress_bar()  # weight-loading bars: our progress line is enough
    device = "cuda" if cuda_available() else "cpu"
    with warnings.catch_warnings():
        # deprecation notices from transformers/peft/torch are noise in a nightly log
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        model, tok = load_unsloth(base_dir, cfg) if device == "cuda" else load_cpu(base_dir, cfg)
        rows, vrows = _encode_splits(tok, train, val, cfg.max_seq_tokens)
        pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        bf16 = use_bf16(cfg, device)
        log.info(
            "training on %s: %d examples (%d validation), %d steps of %d (micro-batch %d), "
            "bf16 %s, gradient checkpointing %s",
            device, len(rows), len(vrows), cfg.steps, cfg.batch_size,
            min(cfg.micro_batch_size, cfg.batch_size), bf16, cfg.gradient_checkpointing,
        )  # fmt: skip
        counter = TokenCount()
        ckpt = out_dir / "checkpoints"
        args = training_args(cfg, ckpt, bool(vrows), bf16, device == "cpu")
        trainer = make_trainer(model, cfg, (rows, vrows), pad, args, counter)
        t0 = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - t0
    adapter_dir = out_dir / "adapter"
    model.save_pretrained(str(adapter_dir))  # Trainer loaded the best checkpoint into it
    shutil.rmtree(ckpt, ignore_errors=True)
    state = trainer.state
    best = state.best_metric if vrows else None
    stopped = state.global_step < cfg.steps
    if stopped:
        log.info("early stop at step %d (best validation loss %.4f)", state.global_step, best)
    csv_path = _write_losses(out_dir, _history(state.log_history))
    return TrainResult(
        adapter_dir, state.global_step, best, stopped, counter.tokens, seconds, device, csv_path
    )


def _history(log_history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trainer's log entries as one row per step: step, train_loss, val_loss."""
    rows: dict[int, dict[str, Any]] = {}
    for e in log_history:
        row = rows.setdefault(e["step"], {"step": e["step"], "train_loss": None, "val_loss": None})
        if "loss" in e:
            row["train_loss"] = round(float(e["loss"]), 5)
        if "eval_loss" in e:
            row["val_loss"] = round(float(e["eval_loss"]), 5)
    return [
        r
        for r in sorted(rows.values(), key=lambda r: r["step"])
        if r["train_loss"] is not None or r["val_loss"] is not None
    ]


def _encode_splits(
    tok: Any, train: Sequence[Example], val: Sequence[Example], max_tokens: int
) -> tuple[list[tuple[list[int], list[int]]], list[tuple[list[int], list[int]]]]:
    """Encoded training and validation rows; validation capped at VAL_ROWS to keep
    evaluations cheap."""
    rows = [r for r in (encode(tok, e, max_tokens) for e in train) if r]
    vrows = [r for r in (encode(tok, e, max_tokens) for e in val) if r][:VAL_ROWS]
    if not rows:
        raise TrainingError(
            "No training example fits max_seq_tokens; raise it or use fewer passages_per_example."
        )
    return rows, vrows


def _write_losses(out_dir: Path, history: Sequence[dict[str, Any]]) -> Path:
    csv_path = out_dir / "losses.csv"
    with csv_path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["step", "train_loss", "val_loss"])
        w.writeheader()
        w.writerows(history)
    (out_dir / "losses.json").write_text(json.dumps(history), "utf-8")
    return csv_path
