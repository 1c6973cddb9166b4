"""Settings, cancellation and failure modes, each against its own server process."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from tests.fakes.ollama_server import FakeOllama, quote_first_passage
from tests.lsp.conftest import (
    SAMPLE,
    ask,
    hover,
    open_doc,
    plain,
    start_client,
    stop_client,
    wait_for_log,
    write_toml,
)


def _value(h: types.Hover | None) -> str:
    assert h is not None and isinstance(h.contents, types.MarkupContent)
    return h.contents.value


async def test_client_settings_apply_and_change(home_copy: Path, tmp_path: Path):
    with FakeOllama() as fake:
        toml = write_toml(home_copy, tmp_path, host=fake.url)
        client = await start_client(toml, {"teamkb": {"generator": "none", "maxSources": 2}})
        try:
            first = await ask(client, "how do we rotate the db password")
            assert first["degraded"] and len(first["citations"]) == 2
            assert not fake.requests  # generator "none" from the client won over teamkb.toml
            client.set_configuration({"teamkb": {"generator": "ollama", "maxSources": 4}})
            mark = len(client.log_messages)
            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings=None))  # fmt: skip
            # The server pulls and applies the settings asynchronously; it logs the switch
            # once the new generator is in place.
            await wait_for_log(client, "generator: ollama", since=mark)
            second = await ask(client, "how do we rotate the db password")
            assert not second["degraded"] and "[1]" in second["answer"] and fake.requests
            # Pushed settings work too, and bad values are ignored, not fatal.
            client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
                settings={"teamkb": {"generator": "gpt-9000", "maxSources": "lots"}}))  # fmt: skip
            assert not (await ask(client, "what is a canary"))["degraded"]
        finally:
            await stop_client(client)


async def test_cancelled_request_stops_and_sends_no_result(home_copy: Path, tmp_path: Path):
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    release = threading.Event()

    def slow_model(request: dict[str, Any]) -> str:
        # The model "thinks" until the test lets it answer (bounded, so nothing hangs).
        loop.call_soon_threadsafe(started.set)
        release.wait(30)
        return quote_first_passage(request)

    with FakeOllama(slow_model) as fake:
        client = await start_client(write_toml(home_copy, tmp_path, host=fake.url))
        try:
            uri = open_doc(client, tmp_path / "a.py", SAMPLE)
            await hover(client, uri, 4, 30)  # waits for the engine to load
            params = {"question": "how do we rotate the db password"}
            t0 = time.perf_counter()
            pending = asyncio.ensure_future(client.protocol.send_request_async(
                "teamkb/ask", params, msg_id="ask-1"))  # fmt: skip
            await asyncio.wait_for(started.wait(), 30)
            assert fake.requests, "generation never started"
            mark = len(client.log_messages)
            client.protocol.notify("$/cancelRequest", types.CancelParams(id="ask-1"))
            with pytest.raises(JsonRpcRequestCancelled):
                await asyncio.wait_for(pending, 3)
            assert time.perf_counter() - t0 < 4  # did not wait for the model
            # The server is still responsive while the stale generation winds down.
            assert "ledger.max_batch_size" in _value(await hover(client, uri, 4, 30))
            release.set()
            # The stale generation stops at the model's first token, and says so.
            await wait_for_log(client, "generation cancelled by the caller", since=mark)
            assert "ledger.max_batch_size" in _value(await hover(client, uri, 4, 30))
        finally:
            release.set()
            await stop_client(client)


async def test_failing_generator_degrades_to_sources(home_copy: Path, tmp_path: Path):
    with FakeOllama(status=500) as fake:
        client = await start_client(write_toml(home_copy, tmp_path, host=fake.url))
        try:
            result = await ask(client, "how do we rotate the db password")
            assert result["degraded"] and result["notice"]
            assert 0 < len(result["citations"]) <= 3  # maxSources default
            params = types.ExecuteCommandParams(
                command="teamkb.answer", arguments=[{"question": "what is a canary"}]
            )
            done = plain(await client.workspace_execute_command_async(params))
            assert done["degraded"] and done["uri"].endswith(".md")
        finally:
            await stop_client(client)


async def test_missing_index_gives_clear_errors_and_keeps_serving(tmp_path: Path):
    empty = tmp_path / "empty-home"
    client = await start_client(write_toml(empty, tmp_path, backend="none"))
    try:
        uri = open_doc(client, tmp_path / "a.py", SAMPLE)
        assert await hover(client, uri, 4, 30) is None
        result = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=4, character=12)))  # fmt: skip
        # No index, no vocabulary: an empty list for a two-letter prefix, not an error.
        assert isinstance(result, types.CompletionList) and len(result.items) == 0
        with pytest.raises(JsonRpcException, match="No index"):
            await ask(client, "what is a canary")
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))  # fmt: skip
        assert lenses and len(lenses) == 1
    finally:
        await stop_client(client)


async def test_no_cached_answer_outlives_its_index(home_copy: Path, tmp_path: Path, embedder):
    """`teamkb index` in a terminal publishes a new version: the question line's hover must
    stop showing the answer generated from the old one."""
    from engine import build_engine
    from knowledge.documents import Chunk
    from tests.conftest import make_settings

    question = "how do we rotate the db password"
    with FakeOllama(responder=quote_first_passage) as fake:
        client = await start_client(write_toml(home_copy, tmp_path, host=fake.url))
        try:
            answer = await ask(client, question)
            uri = open_doc(client, tmp_path / "k.py", f"# ?? {question}\n")
            assert answer["answer"] in _value(await hover(client, uri, 0, 4))
            # Another process re-indexes: a new published version of the collection.
            other = build_engine(make_settings(home_copy), embedder=embedder)
            writer = other.store.collection("handbook").writer()
            new = Chunk(id="new", collection="handbook", source="new.md", title="New",
                        heading="", line_start=1, line_end=1, text="new page",
                        search_text="new page", text_hash="x", file_hash="y",
                        updated_at="")  # fmt: skip
            writer.upsert([new], [embedder.embed_query("new page")])
            writer.publish()
            # Readers re-check the published version every couple of seconds.
            deadline = time.monotonic() + 20
            while (shown := await hover(client, uri, 0, 4)) is not None and (
                answer["answer"] in _value(shown)
            ):
                assert time.monotonic() < deadline, "the old answer is still shown"
                await asyncio.sleep(0.2)
        finally:
            await stop_client(client)
