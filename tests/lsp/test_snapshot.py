"""The vocabulary snapshot: a restarted server answers glossary hovers from disk before
its engine is loaded, and replaces a stale snapshot with the index's vocabulary."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, build_engine
from engine.settings import Settings
from lsp.features.hover import hover_for
from lsp.server import TeamkbServer
from lsp.snapshot import read_snapshot, snapshot_dir, write_snapshot
from lsp.vocabulary import Entry, Vocabulary
from tests.conftest import make_settings
from tests.lsp.conftest import write_toml
from tests.lsp.rawio import RawServer

URI = "file:///raw/notes.md"
TEXT = "Before a deploy, read about the canary.\n"
CANARY = "**Canary** (glossary): The first slice of production traffic"


@pytest.fixture
def home(handbook_home: Path, tmp_path: Path) -> Path:
    # Servers write snapshots into their home: each test gets its own copy.
    dst = tmp_path / "home"
    shutil.copytree(handbook_home, dst)
    return dst


def hover_text(hover: Any) -> str:
    assert hover is not None
    return str(hover.contents.value)


async def test_snapshot_answers_while_the_engine_loads_and_a_stale_one_is_replaced(
    home: Path, embedder: Any
):
    # A stale snapshot: an index version that is not the published one, a term the index
    # no longer has, and an old definition of one it still has.
    write_snapshot(home, "handbook", 0, Vocabulary([
        Entry("Canary", "term", "SNAPSHOT definition.", "glossary.md", (1, 2), "Canary"),
        Entry("zzstale", "term", "Gone from the docs.", "glossary.md", (3, 4), "zzstale"),
    ]))  # fmt: skip
    gate = threading.Event()

    def slow_factory(settings: Settings) -> Engine:
        gate.wait(60)  # the engine's imports and index, held back by the test
        return build_engine(settings, embedder=embedder, with_generator=False)

    server = TeamkbServer(make_settings(home), slow_factory)
    try:
        # Before the engine exists: answered from the snapshot, not waiting for it.
        first = await asyncio.wait_for(hover_for(server, "canary"), 5)
        assert server.early_engine is None
        assert hover_text(first).startswith("**Canary** (glossary): SNAPSHOT definition.")
        gate.set()
        await asyncio.wait_for(server.loaded_engine(), 120)
        # The index's vocabulary replaced the snapshot, in memory and on disk.
        assert hover_text(await hover_for(server, "canary")).startswith(CANARY)
        assert server.vocabulary.lookup("zzstale") is None
        files = sorted(p.name for p in snapshot_dir(home).iterdir())
        version = server.early_engine.store.collection("handbook").published_version()
        assert files == [f"handbook-v{version}.json"]
        found = read_snapshot(home, "handbook")
        assert found is not None and found[1] == version
        assert found[0].lookup("zzstale") is None and len(found[0]) == len(server.vocabulary)
    finally:
        gate.set()
        server.executor.shutdown(wait=False)


async def read_until_log(server: RawServer, text: str) -> None:
    """Until the server has logged `text` to the client (perhaps already, while a
    response was awaited)."""

    def logged(msg: dict[str, Any]) -> bool:
        return msg.get("method") == "window/logMessage" and text in msg["params"]["message"]

    if any(logged(m) for m in server.seen):
        return
    while not logged(await server.read(120)):
        pass


async def first_hover(server: RawServer, root: Path) -> str:
    await server.initialize(root)
    await server.notify("textDocument/didOpen", {"textDocument": {
        "uri": URI, "languageId": "markdown", "version": 1, "text": TEXT}})  # fmt: skip
    await server.request(1, "textDocument/hover", {
        "textDocument": {"uri": URI}, "position": {"line": 0, "character": 33}})  # fmt: skip
    return str((await server.response(1))["result"]["contents"]["value"])


async def test_second_start_reads_the_snapshot_the_first_wrote(home: Path, tmp_path: Path):
    toml = write_toml(home, tmp_path, backend="none")
    server = await RawServer.start(toml)
    try:
        assert (await first_hover(server, tmp_path)).startswith(CANARY)
        await read_until_log(server, "vocabulary snapshot written")
    finally:
        assert await server.close() == 0
    [written] = snapshot_dir(home).iterdir()
    mtime = written.stat().st_mtime_ns

    server = await RawServer.start(toml)
    try:
        # Right after `initialized`, as an editor hovers the word under the cursor.
        assert (await first_hover(server, tmp_path)).startswith(CANARY)
        await read_until_log(server, "vocabulary ready")
    finally:
        assert await server.close() == 0
    assert server.proc.stderr is not None
    log = (await server.proc.stderr.read()).decode()
    assert "vocabulary snapshot: " in log
    # Same index version: the snapshot is kept as it is, not rewritten on every start.
    assert [p.name for p in snapshot_dir(home).iterdir()] == [written.name]
    assert written.stat().st_mtime_ns == mtime
