"""`TeamkbServer`: a pygls language server that holds the engine, the in-memory
vocabulary and the client's settings. Answers already generated come from the engine's
answer cache, which is keyed by index version: none outlives the index it came from."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import importlib.metadata
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from engine import USER_ERRORS, Settings
from lsp import transport
from lsp.configuration import settings_ready
from lsp.protocol import TeamkbProtocol
from lsp.settings import LspSettings
from lsp.snapshot import read_snapshot, write_snapshot
from lsp.vocabulary import Vocabulary, load_vocabulary

if TYPE_CHECKING:
    # Annotations only: the engine pulls in LanceDB and pyarrow (seconds), which the
    # load thread imports while `initialize` is answered.
    from engine import Answer, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")
EngineFactory = Callable[[Settings], "Engine"]
ASK_METHOD = "teamkb/ask"
CMD_ANSWER = "teamkb.answer"
CMD_SYNC = "teamkb.sync"


def server_version() -> str:
    """The installed distribution's version: `lsp` must not import the `teamkb` package
    (the CLI depends on us, not the other way round)."""
    try:
        return importlib.metadata.version("teamkb")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "0+unknown"


class AskCancelled(Exception):
    """The client cancelled; the worker thread stops and nothing is sent."""


class TeamkbServer(LanguageServer):
    protocol: TeamkbProtocol

    def __init__(self, settings: Settings, engine_factory: EngineFactory | None = None) -> None:
        super().__init__(
            "teamkb",
            server_version(),
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=TeamkbProtocol,
        )
        self.base_settings = settings
        self.config = LspSettings.from_engine(settings)
        self.vocabulary = Vocabulary()
        self.vocabulary_collection = ""  # the collection `vocabulary` was read from
        # Collection -> the index version its snapshot on disk was written for.
        self._snapshot_versions: dict[str, int] = {}
        # (collection, source) -> file URI of the document, or "" when none is on disk.
        self._file_uris: dict[tuple[str, str], str] = {}
        # Set once the first workspace/configuration pull is applied (or not coming).
        self.first_pull = asyncio.Event()
        # Set as soon as the client's settings are known, before the engine applies them.
        self.config_known = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        # Two workers: one slow ask or sync never starves hovers on a 2-core laptop.
        self.executor = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="teamkb")
        self._factory = engine_factory or _build_engine
        # Done once a first vocabulary is known (the snapshot on disk, else the one read
        # from the index): the hover fast path waits for this only.
        self._first_vocabulary: concurrent.futures.Future[None] = concurrent.futures.Future()
        # The engine as built, before its embedder is warm: enough for citation links.
        self.early_engine: Engine | None = None
        # Started here, before `initialize` is even read: the editor's first hover comes
        # a few hundred milliseconds after it. A daemon thread, not the executor: an
        # editor that stops the server mid-load must not wait for a model it never needs.
        self._engine: concurrent.futures.Future[Engine] = concurrent.futures.Future()
        threading.Thread(target=self._load_into, name="teamkb-load", daemon=True).start()

    # -- transports: our frame reader, which answers and survives bad input -------------
    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        transport.start_io(self, stdin, stdout)

    def start_tcp(self, host: str, port: int) -> None:
        transport.start_tcp(self, host, port)

    # -- engine and vocabulary -----------------------------------------------------------
    def _load_into(self) -> None:
        try:
            self._engine.set_result(self._load())
        except BaseException as exc:  # handed to every request that waits for the engine
            self._engine.set_exception(exc)

    def _load(self) -> Engine:
        t0 = time.perf_counter()
        # Milliseconds, before the engine's imports (LanceDB: seconds): a restarted server
        # answers glossary and service hovers from the last vocabulary it read.
        self._load_snapshot()
        try:
            engine = self.early_engine = self._factory(self.base_settings)
            # The vocabulary before the embedding model (~3 s): glossary terms and
            # service names are answered from it while the model still loads. It
            # replaces the snapshot, stale or not.
            self._refresh_vocabulary(engine)
            log.info("vocabulary ready in %.1fs", time.perf_counter() - t0)
        except BaseException:
            # No engine: answer nothing from a snapshot that can no longer be checked.
            self.vocabulary = Vocabulary()
            raise
        finally:
            # Also when the load failed: hovers then wait for the engine and its error.
            self._vocabulary_known()
        engine = self._with_generator(engine, self.config.generator)
        try:
            # Load the embedding model now so the first retrieval hover is not slow.
            engine.embedder.embed_query("warm up")
        except Exception as exc:
            log.warning("embedder warm-up failed: %s", exc)
        log.info("engine ready in %.1fs", time.perf_counter() - t0)
        return engine

    def _with_generator(self, engine: Engine, backend: str) -> Engine:
        """The engine for this generator choice: built by the factory over the same store
        and embedder, so nothing is reloaded and no engine is changed in place."""
        current = engine.settings.generator.backend if engine.generator is not None else "none"
        if backend == current:
            return engine
        gen_settings = dataclasses.replace(
            self.base_settings.generator,
            backend=backend,  # type: ignore[arg-type]
        )
        settings = dataclasses.replace(engine.settings, generator=gen_settings)
        from engine import build_engine

        return build_engine(settings, store=engine.store, embedder=engine.embedder)

    def _switch_generator(self, backend: str) -> None:
        engine = self._with_generator(self._engine.result(), backend)
        done: concurrent.futures.Future[Engine] = concurrent.futures.Future()
        done.set_result(engine)
        self._engine = done
        # Logged once requests get the new engine: a client may wait for this line.
        log.info("generator: %s", backend)

    def _vocabulary_known(self) -> None:
        if not self._first_vocabulary.done():
            self._first_vocabulary.set_result(None)

    def _load_snapshot(self) -> None:
        name, t0 = self.config.collection, time.perf_counter()
        try:
            found = read_snapshot(self.base_settings.home, name)
        except Exception as exc:  # only a head start: never a reason not to serve
            log.warning("vocabulary snapshot not read (%s): %s", name, exc)
            return
        if found is None:
            return
        self.vocabulary, self.vocabulary_collection = found[0], name
        self._snapshot_versions[name] = found[1]
        self._vocabulary_known()
        log.info("vocabulary snapshot: %d entries (%s, index version %d) in %.0f ms",
                 len(found[0]), name, found[1], (time.perf_counter() - t0) * 1000)  # fmt: skip

    def _refresh_vocabulary(self, engine: Engine) -> None:
        name = self.config.collection
        version: int | None = None
        try:
            # The version first: a publish in between leaves an older label on newer
            # entries, which the next read finds different and rewrites.
            version = engine.store.collection(name).published_version()
            vocabulary = load_vocabulary(engine, name)
        except Exception as exc:
            # No index yet is normal before the first sync: complete nothing, keep serving.
            log.warning("vocabulary not loaded (%s): %s", name, exc)
            vocabulary = Vocabulary()
        self.vocabulary, self.vocabulary_collection = vocabulary, name
        if version is not None and self._snapshot_versions.get(name) != version:
            self._save_snapshot(name, version, vocabulary)

    def _save_snapshot(self, name: str, version: int, vocabulary: Vocabulary) -> None:
        try:
            path = write_snapshot(self.base_settings.home, name, version, vocabulary)
        except OSError as exc:  # a read-only home: the next start is slower, that is all
            log.warning("vocabulary snapshot not written (%s): %s", name, exc)
            return
        self._snapshot_versions[name] = version
        log.info("vocabulary snapshot written: %s", path.name)

    async def known_vocabulary(self) -> Vocabulary | None:
        """The vocabulary of the configured collection once read (never waits for the
        embedder); None while the collection the client chose is still being read."""
        await asyncio.wrap_future(self._first_vocabulary)
        return self.vocabulary if self.vocabulary_collection == self.config.collection else None

    def engine_ready(self) -> Engine | None:
        if self._engine.done() and self._engine.exception() is None:
            return self._engine.result()
        return None

    async def loaded_engine(self) -> Engine:
        """The engine once built, before the client's settings are applied to it."""
        return await asyncio.wrap_future(self._engine)

    async def engine(self) -> Engine:
        """The engine, once loaded and configured with the client's settings."""
        await self.loaded_engine()
        await settings_ready(self)
        # Applying the settings may have switched to an engine with another generator.
        return await self.loaded_engine()

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # -- settings ------------------------------------------------------------------------
    async def reconfigure(self, old: LspSettings, new: LspSettings) -> None:
        """Bring the engine and the link cache in line with changed client settings."""
        self._file_uris.clear()
        # Not self.engine(): that waits for the settings being applied here.
        engine = await self.loaded_engine()
        if new.generator != old.generator:
            await self.off_loop(self._switch_generator, new.generator)
            engine = await self.loaded_engine()
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
        return self.trim(answer)

    def trim(self, answer: Answer) -> Answer:
        # Only sources-only answers: a generated text refers to its citations by number.
        limit = self.config.max_sources
        if (answer.degraded or answer.abstained) and len(answer.citations) > limit:
            return dataclasses.replace(answer, citations=answer.citations[:limit])
        return answer

    async def cached_answer(self, question: str, collection: str | None = None) -> Answer | None:
        """An answer the engine already generated for the published index, or None; never
        generates, and never waits for the engine to load."""
        engine = self.engine_ready()
        if engine is None:
            return None
        name = collection or self.config.collection
        try:
            found = await self.off_loop(lambda: engine.cached_answer(question, collection=name))
        except USER_ERRORS as exc:
            log.debug("no cached answer for %r: %s", question[:80], exc)
            return None
        return self.trim(found) if found is not None else None

    def index_changed(self) -> None:
        """After a sync: links may point at files that are gone."""
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

    def source_url(self, collection: str, source: str, lines: tuple[int, int]) -> str | None:
        """The collection's link to these lines, or None. Before the engine is built (a
        hover answered from the snapshot) the settings fill in the template, as the
        engine does."""
        engine = self.engine_ready() or self.early_engine
        if engine is not None:
            return engine.citation_url(collection, source, *lines)
        return self.base_settings.collection(collection).citation_url(source, *lines)

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


def _build_engine(settings: Settings) -> Engine:
    from engine import build_engine  # here, in the load thread: LanceDB takes seconds

    return build_engine(settings, with_generator=False)


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:60] or "answer"
