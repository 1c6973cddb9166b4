"""Peak memory of a configured training run, estimated before any work, and the refusal
when it cannot fit: a kernel OOM kill is never how a run ends.

The estimate is deliberately pessimistic (every token of a sequence may be a completion
token, the attention scores are materialised) so a run it lets through fits.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from finetune.config import FinetuneConfig
from finetune.errors import TrainingError

log = logging.getLogger(__name__)

GB = 1024**3
_RUNTIME_BYTES = int(1.2 * GB)  # torch, tokenizer, the data set, the embedder's leftovers
_HEADROOM = 0.85  # of MemAvailable: the page cache and other processes need some


class MemoryRefused(TrainingError):
    """The configured run would not fit in the machine's available memory."""


@dataclass(frozen=True)
class ModelShape:
    params: int
    vocab: int
    hidden: int
    layers: int
    intermediate: int
    heads: int

    @classmethod
    def of(cls, hf_dir: Path) -> ModelShape:
        cfg = json.loads((hf_dir / "config.json").read_text())
        cfg = cfg.get("text_config", cfg)
        hidden = int(cfg["hidden_size"])
        heads = int(cfg.get("num_attention_heads", 1))
        head_dim = int(cfg.get("head_dim") or hidden // heads)
        layers, inter, vocab = (
            int(cfg["num_hidden_layers"]),
            int(cfg["intermediate_size"]),
            int(cfg["vocab_size"]),
        )
        per_layer = 4 * hidden * heads * head_dim + 3 * hidden * inter
        embeddings = vocab * hidden * (1 if cfg.get("tie_word_embeddings", True) else 2)
        return cls(embeddings + layers * per_layer, vocab, hidden, layers, inter, heads)


def estimate_peak_bytes(shape: ModelShape, cfg: FinetuneConfig, bf16: bool) -> dict[str, int]:
    """Bytes by part, for the report and the refusal message."""
    tokens = cfg.micro_batch_size * cfg.max_seq_tokens
    weights = shape.params * 4 + (shape.params * 2 if bf16 else 0)  # fp32 + autocast copies
    # with checkpointing only each layer's input is kept; one layer is recomputed at a time
    kept = tokens * shape.hidden * 4 * (shape.layers if cfg.gradient_checkpointing else 0)
    one_layer = tokens * (12 * shape.hidden + 4 * shape.intermediate) * 4
    scores = cfg.micro_batch_size * shape.heads * cfg.max_seq_tokens**2 * 4 * 2
    layers = kept + (one_layer + scores) * (1 if cfg.gradient_checkpointing else shape.layers)
    # logits, their fp32 log-softmax and its gradient, on the kept (completion) positions
    logits = tokens * shape.vocab * 4 * 3
    return {
        "weights": weights,
        "activations": layers,
        "logits": logits,
        "runtime": _RUNTIME_BYTES,
    }


def available_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def check_fits(
    shape: ModelShape, cfg: FinetuneConfig, bf16: bool, available: int | None = None
) -> int:
    """The estimated peak in bytes; raises MemoryRefused naming the setting to lower."""
    parts = estimate_peak_bytes(shape, cfg, bf16)
    peak = sum(parts.values())
    avail = available_bytes() if available is None else available
    log.info(
        "estimated training peak %.1f GB (%s); %.1f GB available",
        peak / GB,
        ", ".join(f"{k} {v / GB:.1f}" for k, v in parts.items()),
        avail / GB,
    )
    if peak <= avail * _HEADROOM:
        return peak
    lower = (
        f"micro_batch_size (now {cfg.micro_batch_size})"
        if cfg.micro_batch_size > 1
        else f"max_seq_tokens (now {cfg.max_seq_tokens})"
    )
    raise MemoryRefused(
        f"This training run would need about {peak / GB:.1f} GB of memory "
        f"(logits {parts['logits'] / GB:.1f} GB, activations {parts['activations'] / GB:.1f} GB) "
        f"but {avail / GB:.1f} GB is available: lower [finetune] {lower}. "
        f"batch_size (now {cfg.batch_size}) costs no memory: it is reached by accumulation."
    )
