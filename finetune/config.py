"""`[finetune]` settings, parsed once into a frozen dataclass."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from engine.errors import ConfigError


@dataclass(frozen=True)
class FinetuneConfig:
    # An HF model folder, or a GGUF (converted to an HF folder once); empty: the
    # packaged Gemma 3 270M GGUF.
    base_model: str = ""
    # The GGUF llama.cpp serves with the adapter; empty: base_model if it is a GGUF,
    # else the packaged one.
    base_gguf: str = ""
    ollama_base: str = "gemma3:270m"  # FROM line of the Modelfile
    rank: int = 8
    alpha: int = 16
    load_in_4bit: bool = False  # Unsloth only: 4-bit base (QLoRA) instead of 16-bit
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    steps: int = 60
    batch_size: int = 8
    learning_rate: float = 2e-4
    max_seq_tokens: int = 1024
    eval_every: int = 10
    patience: int = 3  # evaluations without validation-loss improvement before stopping
    min_delta: float = 0.0
    seed: int = 7
    # data
    passages_per_example: int = 2
    max_examples: int = 400
    holdout_fraction: float = 0.2
    eval_questions: int = 12  # held-out questions asked at the gate (0: all)
    check_questions: str = ""  # fixed general-ability questions file (JSONL)
    # The team's own questions (the `teamkb eval answers` format), scored by the gate
    # together with the held-out sample: synthesized questions alone can miss what
    # users ask.
    gate_questions: str = ""
    # gate
    ship_margin: float = 0.02  # candidate score must beat the service's by this much
    check_tolerance: float = 0.05  # allowed drop on the general-ability check set
    max_latency_ratio: float = 1.5  # candidate p50 latency / service p50 latency
    collection: str = ""

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> FinetuneConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise ConfigError(
                f"Unknown [finetune] key(s): {', '.join(unknown)}. Known: {', '.join(known)}."
            )
        values: dict[str, Any] = {}
        for key, raw in section.items():
            default = getattr(cls(), key)
            try:
                if isinstance(default, tuple):
                    items = raw.split(",") if isinstance(raw, str) else raw
                    values[key] = tuple(str(x).strip() for x in items if str(x).strip())
                elif isinstance(default, bool):
                    values[key] = raw if isinstance(raw, bool) else str(raw).lower() == "true"
                else:
                    values[key] = type(default)(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"[finetune] {key} = {raw!r}: {exc}") from exc
        cfg = cls(**values)
        if cfg.rank < 1 or cfg.steps < 1 or cfg.batch_size < 1:
            raise ConfigError("[finetune] rank, steps and batch_size must be at least 1.")
        if not 0.0 <= cfg.holdout_fraction < 1.0:
            raise ConfigError("[finetune] holdout_fraction must be in [0, 1).")
        return cfg

    def replace(self, **changes: Any) -> FinetuneConfig:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }
