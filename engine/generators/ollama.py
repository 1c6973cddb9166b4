"""Generation through a real Ollama server, with the official `ollama` client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from engine.errors import GenerationTimeout, GeneratorUnavailable
from engine.generators.base import BaseGenerator
from engine.types import Prompt

log = logging.getLogger(__name__)


class OllamaGenerator(BaseGenerator):
    def __init__(
        self,
        *,
        host: str,
        model: str,
        adapter_model: str = "",
        timeout_s: float = 60.0,
        keep_alive: str = "10m",
        max_tokens: int = 160,
        temperature: float = 0.0,
        n_ctx: int = 4096,
        seed: int = 7,
        client: Any = None,
    ) -> None:
        import ollama

        super().__init__(n_ctx=n_ctx, max_tokens=max_tokens, temperature=temperature)
        self.host = host
        # Shown to users when Ollama fails: never with credentials from the URL.
        self.where = _without_userinfo(host)
        self.base_model = model
        # An adapter is served by Ollama as its own model tag (FROM base + ADAPTER).
        self.adapter_model = adapter_model
        self.keep_alive = keep_alive
        self.seed = seed
        self.client = client or ollama.Client(host=host, timeout=timeout_s)

    @property
    def model(self) -> str:
        return self.base_model

    @property
    def adapter(self) -> str:
        return self.adapter_model

    def stream(self, prompt: Prompt) -> Iterator[str]:
        import httpx
        import ollama

        try:
            parts = self.client.chat(
                model=self.adapter_model or self.base_model,
                messages=[
                    {"role": "system", "content": prompt.system},
                    {"role": "user", "content": prompt.user},
                ],
                stream=True,
                keep_alive=self.keep_alive,
                options={
                    "temperature": self.temperature,
                    "num_predict": self._max_tokens,
                    "num_ctx": self._n_ctx,
                    # Without a seed Ollama draws one per request: the same question
                    # could get another answer each time it is asked.
                    "seed": self.seed,
                },
            )
            for part in parts:
                text = part["message"]["content"]
                if text:
                    yield text
        except httpx.TimeoutException as exc:
            raise GenerationTimeout(f"Ollama at {self.where} timed out") from exc
        except ollama.ResponseError as exc:
            raise GeneratorUnavailable(
                f"Ollama refused the request ({exc.status_code}): {exc.error}"
            ) from exc
        except (httpx.HTTPError, ConnectionError, OSError) as exc:
            raise GeneratorUnavailable(f"Ollama at {self.where} is unreachable") from exc


def _without_userinfo(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))
