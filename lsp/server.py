"""`TeamkbServer`: a pygls language server that holds the engine, the in-memory
vocabulary, the answers it already generated and the client's settings."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from engine import Answer, Engine, build_engine
from engine.factory import build_generator
from engine.settings import Settings
from lsp.settings import LspSettings
from lsp.vocabulary import Vocabulary, load_vocabulary
from teamkb import __version__

log = logging.getLogger(__name__)

T = TypeVar("T")
EngineFactory = Callable[[Settings], Engine]
ASK_METHOD = "teamkb/ask"
CMD_ANSWER = "teamkb.answer"
CMD_SYNC = "teamkb.sync"


class AskCancelled(Exception):
    """The client cancelled; the worker thread stops and nothing is sent."""


def normalize_question(q: str) -> str:
    return " ".join(q.lower().split())


class TeamkbServer(LanguageServer):
    def __init__(self, settings: Settings, engine_factory: EngineFactory | None = None) -> None:
        super().__init__(
            "teamkb", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.base_settings = settings
        self.config = LspSettings.from_engine(settings)
        self.vocabulary = Vocabulary()
        self.answers: dict[str, Answer] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        # Two workers: one slow ask or sync never starves hovers on a 2-core laptop.
        self.executor = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="teamkb")
        self._factory = engine_factory or (lambda s: build_engine(s, with_generator=False))
        self._engine: concurrent.futures.Future[Engine] = self.executor.submit(self._load)

    # -- engine and vocabulary -----------------------------------------------------------
    def _load(self) -> Engine:
        t0 = time.perf_counter()
        engine = self._factory(self.base_settings)
        self._set_generator(engine, self.config.generator)
        try:
            # Load the embedding model now so the first hover is not the slow one.
            engine.embedder.embed_query("warm up")
        except Exception as exc:
            log.warning("embedder warm-up failed: %s", exc)
        self._refresh_vocabulary(engine)
        log.info("engine ready in %.1fs", time.perf_counter() - t0)
        return engine

    def _set_generator(self, engine: Engine, backend: str) -> None:
        current = engine.settings.generator.backend if engine.generator is not None else "none"
        if backend == current and (engine.generator is not None or backend == "none"):
            return
        gen_settings = dataclasses.replace(
            self.base_settings.generator,
            backend=backend,  # type: ignore[arg-type]
        )
        settings = dataclasses.replace(engine.settings, generator=gen_settings)
        engine.generator = build_generator(settings)
        engine.settings = settings
        log.info("generator: %s", backend)

    def _refresh_vocabulary(self, engine: Engine) -> None:
        try:
            self.vocabulary = load_vocabulary(engine, self.config.collection)
        except Exception as exc:
            # No index yet is normal before the first sync: complete nothing, keep serving.
            log.warning("vocabulary not loaded (%s): %s", self.config.collection, exc)
            self.vocabulary = Vocabulary()

    def engine_ready(self) -> Engine | None:
        if self._engine.done() and self._engine.exception() is None:
            return self._engine.result()
        return None

    async def engine(self) -> Engine:
        return await asyncio.wrap_future(self._engine)

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # -- settings ------------------------------------------------------------------------
    async def apply_settings(self, data: Any) -> None:
        new = self.config.merged(data)
        if new == self.config:
            return
        old, self.config = self.config, new
        log.info("settings: %s", new)
        engine = await self.engine()
        if new.generator != old.generator:
            await self.off_loop(self._set_generator, engine, new.generator)
        if new.collection != old.collection:
            await self.off_loop(self._refresh_vocabulary, engine)

    async def pull_settings(self) -> None:
        caps = self.client_capabilities.workspace
        if not (caps and caps.configuration):
            return
        try:
            result = await asyncio.wait_for(
                self.workspace_configuration_async(types.ConfigurationParams(
                    items=[types.ConfigurationItem(section="teamkb")])), 5)  # fmt: skip
        except Exception as exc:
            log.warning("workspace/configuration failed, keeping teamkb.toml: %s", exc)
            return
        if result:
            await self.apply_settings(result[0])

    # -- answers -------------------------------------------------------------------------
    async def ask(self, question: str, collection: str | None = None) -> Answer:
        """Generate a cited answer off the event loop; cancelling the awaiting task stops
        the generation at the next token."""
        engine = await self.engine()
        stop = threading.Event()
        name = collection or self.config.collection

        def work() -> Answer:
            answer = None
            for event in engine.ask_stream(question, collection=name, cancelled=stop.is_set):
                if stop.is_set():
                    raise AskCancelled(question)
                if event.answer is not None:
                    answer = event.answer
            if answer is None:
                raise AskCancelled(question)
            return answer

        try:
            answer = await self.off_loop(work)
        except asyncio.CancelledError:
            stop.set()
            log.info("ask cancelled: %r", question[:80])
            raise
        answer = self.trim(answer)
        self.answers[normalize_question(question)] = answer
        return answer

    def trim(self, answer: Answer) -> Answer:
        # Only sources-only answers: a generated text refers to its citations by number.
        limit = self.config.max_sources
        if (answer.degraded or answer.abstained) and len(answer.citations) > limit:
            return dataclasses.replace(answer, citations=answer.citations[:limit])
        return answer

    def cached_answer(self, question: str) -> Answer | None:
        return self.answers.get(normalize_question(question))

    def answers_dir(self) -> Path:
        return self.base_settings.home / "lsp-answers"

    def citation_link(self, source: str, lines: tuple[int, int], url: str, collection: str) -> str:
        """The collection's URL if it has one, else a file URI with a line anchor."""
        if url and url != source:
            return url
        for folder in self.base_settings.collection(collection).paths or self.config.docs_folders:
            path = Path(folder) / source
            if path.is_file():
                return f"{path.resolve().as_uri()}#L{lines[0]}"
        return source


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:60] or "answer"
