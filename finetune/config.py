"""`[finetune]` settings, validated once by pydantic into a frozen dataclass.

A pydantic dataclass rather than a BaseModel: callers (tests, bench) derive variants
with `dataclasses.replace`, and that re-validates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from engine import ConfigError

AtLeastOne = Annotated[int, Field(ge=1)]

# `coerce_numbers_to_str`: a TOML `collection = 2024` means the string, as `str(raw)` did.
_PYDANTIC = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


@dataclass(frozen=True, config=_PYDANTIC)
class FinetuneConfig:
    # An HF model folder, or a GGUF (converted to an HF folder once); empty: the
    # packaged Gemma 3 270M GGUF.
    base_model: str = ""
    # The GGUF llama.cpp serves with the adapter; empty: base_model if it is a GGUF,
    # else the packaged one.
    base_gguf: str = ""
    ollama_base: str = "gemma3:270m"  # FROM line of the Modelfile
    rank: AtLeastOne = 8
    alpha: int = 16
    load_in_4bit: bool = False  # Unsloth only: 4-bit base (QLoRA) instead of 16-bit
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    # defaults sized for a nightly run on 2 CPU cores (docs/decisions/retraining-defaults.md)
    steps: AtLeastOne = 20
    # the effective batch: micro-batches of `micro_batch_size` rows are accumulated up
    # to it, so it costs time, not memory
    batch_size: AtLeastOne = 8
    micro_batch_size: AtLeastOne = 1  # rows per forward pass: this is what costs memory
    gradient_checkpointing: bool = True  # recompute activations: less memory, ~25% slower
    bf16: Literal["auto", "on", "off"] = "auto"  # auto: when the CPU has bf16 instructions
    learning_rate: float = 2e-4
    max_seq_tokens: int = 1024
    eval_every: int = 5
    patience: int = 2  # evaluations without validation-loss improvement before stopping
    min_delta: float = 0.0
    seed: int = 7
    # data
    passages_per_example: int = 2
    max_examples: int = 400
    holdout_fraction: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.2
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

    @field_validator("target_modules", mode="before")
    @classmethod
    def _split_modules(cls, raw: Any) -> Any:
        """TOML may give "q_proj, v_proj" or a list; blanks are dropped either way."""
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple):
            return raw  # pydantic reports it as not a sequence
        return tuple(str(x).strip() for x in items if str(x).strip())

    @property
    def accumulation(self) -> int:
        """Micro-batches per optimiser step (batch_size rounded up to a multiple of
        micro_batch_size)."""
        return -(-self.batch_size // min(self.micro_batch_size, self.batch_size))

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> FinetuneConfig:
        known = [f.name for f in dataclasses.fields(cls)]
        # Checked here rather than left to pydantic so the message can list the keys.
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise ConfigError(
                f"Unknown [finetune] key(s): {', '.join(unknown)}. Known: {', '.join(known)}."
            )
        try:
            return cls(**section)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, section)) from exc

    def replace(self, **changes: Any) -> FinetuneConfig:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


def _describe(exc: ValidationError, section: Mapping[str, Any]) -> str:
    """One line per bad key, `[finetune] key = value: why`, as users wrote the key."""
    lines = []
    for err in exc.errors():
        key = str(err["loc"][0]) if err["loc"] else "?"
        lines.append(f"[finetune] {key} = {section.get(key)!r}: {err['msg']}")
    return "; ".join(lines)
