"""The ports the engine is built from; concrete parts are made in `engine.factory`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from engine.types import Prompt


@runtime_checkable
class Generator(Protocol):
    """Turns a prompt into text. Raises GeneratorUnavailable when it cannot."""

    @property
    def model(self) -> str: ...

    @property
    def adapter(self) -> str: ...

    @property
    def context_tokens(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def generate(self, prompt: Prompt) -> str: ...

    def stream(self, prompt: Prompt) -> Iterator[str]: ...
