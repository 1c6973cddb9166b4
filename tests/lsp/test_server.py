"""Settings, cancellation and failure modes, each against its own server process."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from tests.fakes.ollama_server import FakeOllama
from tests.lsp.conftest import (
    SAMPLE,
    ask,
    hover,
    open_doc,
    plain,
    start_client,
    stop_client,
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
            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings=None))  # fmt: skip
            for _ in range(50):  # the pull happens asynchronously
                second = await ask(client, "how do we rotate the db password")
                if not second["degraded"]:
                    break
                await asyncio.sleep(0.1)
            assert not second["degraded"] and "[1]" in second["answer"] and fake.requests
            # Pushed settings work too, and bad values are ignored, not fatal.
            client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
                settings={"teamkb": {"generator": "gpt-9000", "maxSources": "lots"}}))  # fmt: skip
            assert not (await ask(client, "what is a canary"))["degraded"]
        finally:
            await stop_client(client)


async def test_cancelled_request_stops_and_sends_no_result(home_copy: Path, tmp_path: Path):
    with FakeOllama(delay_s=4) as fake:
        client = await start_client(write_toml(home_copy, tmp_path, host=fake.url))
        try:
            uri = open_doc(client, tmp_path / "a.py", SAMPLE)
            await hover(client, uri, 4, 30)  # waits for the engine to load
            params = {"question": "how do we rotate the db password"}
            t0 = time.perf_counter()
            pending = asyncio.ensure_future(client.protocol.send_request_async(
                "teamkb/ask", params, msg_id="ask-1"))  # fmt: skip
            for _ in range(100):
                if fake.requests:
                    break
                await asyncio.sleep(0.05)
            assert fake.requests, "generation never started"
            client.protocol.notify("$/cancelRequest", types.CancelParams(id="ask-1"))
            with pytest.raises(JsonRpcRequestCancelled):
                await asyncio.wait_for(pending, 3)
            assert time.perf_counter() - t0 < 4  # did not wait for the model
            # The server is still responsive while the stale generation winds down.
            assert "ledger.max_batch_size" in _value(await hover(client, uri, 4, 30))
            await asyncio.sleep(4.5)
            assert "ledger.max_batch_size" in _value(await hover(client, uri, 4, 30))
        finally:
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
        assert result is None or not result.items
        with pytest.raises(JsonRpcException, match="No index"):
            await ask(client, "what is a canary")
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))  # fmt: skip
        assert lenses and len(lenses) == 1
    finally:
        await stop_client(client)
