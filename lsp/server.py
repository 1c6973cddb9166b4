"""`TeamkbServer`: a pygls language server that holds the engine, the in-memory
vocabulary, the answers it already generated and the client's settings."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import importlib.metadata
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from engine import Answer, Engine, build_engine
from engine.factory import build_generator
from engine.settings import Settings
from lsp.configuration import settings_ready
from lsp.settings import LspSettings
from lsp.vocabulary import Vocabulary, load_vocabulary

log = logging.getLogger(__name__)

T = TypeVar("T")
EngineFactory = Callable[[Settings], Engine]
ASK_METHOD = "teamkb/ask"
CMD_ANSWER = "teamkb.answer"
CMD_SYNC = "teamkb.sync"
MAX_CACHED_ANSWERS = 256


def server_version() -> str:
    """The installed distribution's version: `lsp` must not import the `teamkb` package
    (the CLI depends on us, not the other way round)."""
    try:
        return importlib.metadata.version("teamkb")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "0+unknown"


class AskCancelled(Exception):
    """The client cancelled; the worker thread stops and nothing is sent."""


def normalize_question(q: str) -> str:
    return " ".join(q.lower().split())


class TeamkbServer(LanguageServer):
    def __init__(self, settings: Settings, engine_factory: EngineFactory | None = None) -> None:
        super().__init__(
            "teamkb",
            server_version(),
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.base_settings = settings
        self.config = LspSettings.from_engine(settings)
        self.vocabulary = Vocabulary()
        # (collection, normalized question) -> answer, oldest first.
        self.answers: OrderedDict[tuple[str, str], Answer] = OrderedDict()
        # (collection, source) -> file URI of the document, or "" when none is on disk.
        self._file_uris: dict[tuple[str, str], str] = {}
        # Set once the first workspace/configuration pull is applied (or not coming).
        self.first_pull = asyncio.Event()
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
        if backend == current:
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

    async def loaded_engine(self) -> Engine:
        """The engine once built, before the client's settings are applied to it."""
        return await asyncio.wrap_future(self._engine)

    async def engine(self) -> Engine:
        """The engine, once loaded and configured with the client's settings."""
        engine = await self.loaded_engine()
        await settings_ready(self)
        return engine

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # -- settings ------------------------------------------------------------------------
    async def reconfigure(self, old: LspSettings, new: LspSettings) -> None:
        """Bring the engine and the link cache in line with changed client settings."""
        self._file_uris.clear()
        # Not self.engine(): that waits for the settings being applied here.
        engine = await self.loaded_engine()
        if new.generator != old.generator:
            await self.off_loop(self._set_generator, engine, new.generator)
        if new.collection != old.collection:
            await self.off_loop(self._refresh_vocabulary, engine)

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
        if not answer.degraded:
            # A degraded answer is the generator failing: asking again may do better.
            key = (name, normalize_question(question))
            self.answers[key] = answer
            self.answers.move_to_end(key)
            while len(self.answers) > MAX_CACHED_ANSWERS:
                self.answers.popitem(last=False)
        return answer

    def trim(self, answer: Answer) -> Answer:
        # Only sources-only answers: a generated text refers to its citations by number.
        limit = self.config.max_sources
        if (answer.degraded or answer.abstained) and len(answer.citations) > limit:
            return dataclasses.replace(answer, citations=answer.citations[:limit])
        return answer

    def cached_answer(self, question: str, collection: str | None = None) -> Answer | None:
        name = collection or self.config.collection
        return self.answers.get((name, normalize_question(question)))

    def index_changed(self) -> None:
        """After a sync: cached answers and links may point at what is gone."""
        self.answers.clear()
        self._file_uris.clear()

    def answers_dir(self) -> Path:
        return self.base_settings.home / "lsp-answers"

    def resolve_folder(self, folder: str) -> Path:
        """A docs folder as given in settings; relative ones are under the workspace root."""
        p = Path(folder).expanduser()
        if p.is_absolute():
            return p
        root = self.workspace.root_path
        return Path(root) / p if root else p.resolve()

    def citation_link(
        self, source: str, lines: tuple[int, int], url: str | None, collection: str
    ) -> str:
        """The collection's URL if it has one, else a file URI with a line anchor."""
        if url:
            return url
        key = (collection, source)
        uri = self._file_uris.get(key)
        if uri is None:
            uri = ""
            configured = self.base_settings.collection(collection).paths
            for folder in configured or self.config.docs_folders:
                path = self.resolve_folder(folder) / source
                if path.is_file():
                    uri = path.resolve().as_uri()
                    break
            self._file_uris[key] = uri
        return f"{uri}#L{lines[0]}" if uri else source


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:60] or "answer"
