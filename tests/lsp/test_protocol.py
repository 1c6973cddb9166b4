"""Hostile framing over raw stdio against the real server: every request gets a response
or the JSON-RPC error the spec asks for, and no bad frame leaves the server deaf."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.lsp.conftest import write_toml
from tests.lsp.rawio import RawServer, frame, message

URI = "file:///raw/notes.md"
TEXT = "Before a deploy, read about the canary.\n"


def hover_params(position: Any) -> dict[str, Any]:
    return {"textDocument": {"uri": URI}, "position": position}


def error_of(msg: dict[str, Any]) -> tuple[Any, int]:
    return msg["id"], msg["error"]["code"]


def since(server: RawServer, mark: int, method: str) -> list[dict[str, Any]]:
    return [m for m in server.seen[mark:] if m.get("method") == method]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def raw(module_home: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> AsyncIterator[RawServer]:  # fmt: skip
    toml = write_toml(module_home, tmp_path_factory.mktemp("raw"), backend="none")
    server = await RawServer.start(toml)
    await server.initialize(Path("/raw"))
    await server.notify("textDocument/didOpen", {"textDocument": {
        "uri": URI, "languageId": "markdown", "version": 1, "text": TEXT}})  # fmt: skip
    yield server
    assert await server.close() == 0


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.mark.parametrize("position", [{"line": -1, "character": -5},
                                      {"line": "x", "character": None}])  # fmt: skip
async def test_invalid_params_get_an_error_response(raw: RawServer, position: Any):
    mark = len(raw.seen)
    await raw.request("bad", "textDocument/hover", hover_params(position))
    assert error_of(await raw.response("bad")) == ("bad", -32602)
    assert since(raw, mark, "window/showMessage") == []


@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", -32700),
    (b"\xff\xfe", -32700),
    (b'{"foo": 1}', -32600),
    (b"[]", -32600),
    (b'{"jsonrpc": "2.0", "id": true, "method": "shutdown"}', -32600),
])  # fmt: skip
async def test_malformed_messages_get_the_spec_error(raw: RawServer, body: bytes, code: int):
    mark = len(raw.seen)
    await raw.send(frame(body))
    assert error_of(await raw.response(None)) == (None, code)
    assert since(raw, mark, "window/showMessage") == []


async def test_change_to_an_unknown_document_is_logged_not_shown(raw: RawServer):
    mark = len(raw.seen)
    await raw.notify("textDocument/didChange", {
        "textDocument": {"uri": "file:///raw/never-opened.md", "version": 2},
        "contentChanges": [{"text": "x"}]})  # fmt: skip
    # Messages are handled in order: anything the change caused comes before this answer.
    await raw.request("after", "textDocument/hover", hover_params({"line": 9, "character": 0}))
    assert (await raw.response("after"))["result"] is None
    assert since(raw, mark, "window/showMessage") == []
    # Log records reach the client through the event loop: others may interleave.
    logs = [m["params"]["message"] for m in since(raw, mark, "window/logMessage")]
    assert [m for m in logs if "didChange" in m] == [
        "lsp.protocol: didChange for a document that is not open, ignored: "
        "file:///raw/never-opened.md"]  # fmt: skip


@pytest.mark.parametrize("length", ["abc", "-5", "99999999999"])
async def test_bad_content_length_drops_one_frame_and_recovers(raw: RawServer, length: str):
    dropped = message({"jsonrpc": "2.0", "id": "lost", "method": "shutdown"})
    await raw.send(frame(dropped.split(b"\r\n\r\n", 1)[1], length))
    # The next header follows the dropped body on the same line: found all the same.
    await raw.request("next", "textDocument/hover", hover_params({"line": 0, "character": 33}))
    reply = await raw.response("next")
    assert "**Canary** (glossary)" in reply["result"]["contents"]["value"]
    assert not [m for m in raw.seen if m.get("id") == "lost"]


async def test_first_hover_answers_from_the_vocabulary_before_the_engine_loads(
    module_home: Path, tmp_path: Path
):
    server = await RawServer.start(write_toml(module_home, tmp_path, backend="none"))
    try:
        await server.initialize(tmp_path)
        # Sent at once, as an editor does on opening a file with the cursor on a term.
        await server.notify("textDocument/didOpen", {"textDocument": {
            "uri": URI, "languageId": "markdown", "version": 1, "text": TEXT}})  # fmt: skip
        await server.request(1, "textDocument/hover", hover_params({"line": 0, "character": 33}))
        value = (await server.response(1))["result"]["contents"]["value"]
        assert value.startswith("**Canary** (glossary): The first slice of production traffic")
        logs = [m["params"]["message"] for m in since(server, 0, "window/logMessage")]
        # Answered while the embedding model was still loading.
        assert not [m for m in logs if "engine ready" in m]
    finally:
        assert await server.close() == 0
