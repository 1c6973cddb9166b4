"""What every generator shares: its limits, a token estimate, and `generate` as a joined
`stream`. A backend adds only how it loads and how it streams."""

from __future__ import annotations

from collections.abc import Iterator

from engine.types import Prompt


class BaseGenerator:
    def __init__(self, *, n_ctx: int, max_tokens: int, temperature: float) -> None:
        self._n_ctx = n_ctx
        self._max_tokens = max_tokens
        self.temperature = temperature

    @property
    def model(self) -> str:
        raise NotImplementedError

    @property
    def adapter(self) -> str:
        return ""

    @property
    def context_tokens(self) -> int:
        return self._n_ctx

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1  # without a tokenizer: over-estimate, stay in budget

    def generate(self, prompt: Prompt) -> str:
        return "".join(self.stream(prompt))

    def stream(self, prompt: Prompt) -> Iterator[str]:
        raise NotImplementedError
