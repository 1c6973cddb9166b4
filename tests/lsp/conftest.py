"""Fixtures for the language-server tests: the real server as a subprocess (pytest-lsp),
over a private copy of the handbook index, with the stand-in Ollama server."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.conftest import HANDBOOK, ROOT, URL
from tests.fakes.ollama_server import FakeOllama

SAMPLE = """# Sample module that talks to the ledger.
# ?? how do we rotate the db password
import ledger_client

BATCH = "ledger.max_batch_size"  # see ledger-api
def post(entries):  # blast radius is small here
    return ledger_client.post(entries)
"""


def write_toml(home: Path, folder: Path, *, backend: str = "ollama", host: str = "",
               url: str = URL, extra: str = "") -> Path:  # fmt: skip
    toml = folder / "teamkb.toml"
    toml.write_text(
        f'home = "{home}"\n'
        'default_collection = "handbook"\n'
        "[collections.handbook]\n"
        f'paths = ["{HANDBOOK}"]\n'
        f'url = "{url}"\n'
        "[generator]\n"
        f'backend = "{backend}"\n'
        f'ollama_host = "{host or "http://127.0.0.1:9"}"\n'
        "use_adapter = false\n"
        "timeout_s = 10\n" + extra,
        encoding="utf-8",
    )
    return toml


def server_command(toml: Path) -> list[str]:
    return [sys.executable, "-m", "teamkb", "--config", str(toml), "serve", "lsp"]


async def start_client(toml: Path, configuration: dict[str, Any] | None = None,
                       root: Path = ROOT) -> LanguageClient:  # fmt: skip
    config = ClientServerConfig(server_command=server_command(toml))
    client = await config.start()
    if configuration is not None:
        assert isinstance(client, LanguageClient)
        client.set_configuration(configuration)
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("neovim@v0.10.0"),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
    ))  # fmt: skip
    return client  # type: ignore[return-value]


async def stop_client(client: LanguageClient) -> None:
    try:
        await client.shutdown_session()
    finally:
        await client.stop()


def open_doc(client: LanguageClient, path: Path, text: str, language: str = "python") -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
    ))  # fmt: skip
    return uri


async def hover(client: LanguageClient, uri: str, line: int, char: int) -> types.Hover | None:
    return await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=char)))  # fmt: skip


def plain(obj: Any) -> Any:
    """pygls hands custom-method results over as namedtuples; tests want JSON."""
    if hasattr(obj, "_asdict"):
        return {k: plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    return obj


async def wait_for_log(client: LanguageClient, text: str, since: int = 0,
                       timeout: float = 60.0) -> str:  # fmt: skip
    """The first `window/logMessage` from `client.log_messages[since]` on that contains
    `text`, waiting for the server to send it if it has not yet."""

    async def wait() -> str:
        seen = since
        while True:
            for m in client.log_messages[seen:]:
                if text in m.message:
                    return m.message
            seen = len(client.log_messages)
            # Nothing yields between the scan and this wait: no message slips through.
            params = await client.wait_for_notification(types.WINDOW_LOG_MESSAGE)
            if text in params.message:
                return str(params.message)

    return await asyncio.wait_for(wait(), timeout)


async def ask(client: LanguageClient, question: str, **extra: Any) -> Any:
    params = {"question": question, **extra}
    return plain(await client.protocol.send_request_async("teamkb/ask", params))


@pytest.fixture(scope="module")
def fake_ollama_module() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


@pytest.fixture(scope="module")
def module_home(handbook_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("lsp") / "home"
    shutil.copytree(handbook_home, dst)
    return dst


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(
    module_home: Path, fake_ollama_module: FakeOllama, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LanguageClient]:
    """One server for the read-only tests of a module (starting one costs seconds)."""
    toml = write_toml(module_home, tmp_path_factory.mktemp("cfg"), host=fake_ollama_module.url)
    c = await start_client(toml)
    yield c
    await stop_client(c)


@pytest.fixture
def sample_uri(client: LanguageClient, tmp_path: Path) -> Callable[[str], str]:
    def make(text: str = SAMPLE, name: str = "sample.py") -> str:
        return open_doc(client, tmp_path / name, text)

    return make
