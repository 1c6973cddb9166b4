"""The client-settings handshake: after `initialized`, and again on
`workspace/didChangeConfiguration`, the server pulls the `teamkb` section of
`workspace/configuration` (or takes what the client pushed) and applies it.

Requests that arrive right after `initialized` wait, bounded, for that first pull: they
must not run with teamkb.toml's settings when the client has its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:  # the server imports this module: no cycle at run time
    from lsp.server import TeamkbServer

log = logging.getLogger(__name__)

SECTION = "teamkb"
PULL_TIMEOUT_S = 5.0


def register(server: TeamkbServer) -> None:
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)


async def initialized(ls: TeamkbServer, params: types.InitializedParams) -> None:
    # The loop is known for sure only once the server runs; the client log handler
    # hands records from worker threads to it.
    ls.loop = asyncio.get_running_loop()
    await pull_settings(ls)


async def did_change_configuration(
    ls: TeamkbServer, params: types.DidChangeConfigurationParams
) -> None:
    pushed = params.settings.get(SECTION) if isinstance(params.settings, Mapping) else None
    if pushed is not None:
        await apply_settings(ls, pushed)
    else:
        # Most clients send null here and expect the server to pull.
        await pull_settings(ls)


def pulls_settings(ls: TeamkbServer) -> bool:
    """Whether the client answers `workspace/configuration` at all."""
    caps = ls.client_capabilities.workspace
    return bool(caps and caps.configuration)


async def settings_ready(ls: TeamkbServer) -> None:
    """Wait (bounded) for the first settings pull to be applied, or known not coming."""
    if ls.first_pull.is_set() or not pulls_settings(ls):
        return
    # Applying them waits for the engine: time the bounded wait from there.
    await ls.loaded_engine()
    try:
        await asyncio.wait_for(ls.first_pull.wait(), PULL_TIMEOUT_S + 5)
    except TimeoutError:
        log.warning("no client settings after %.0fs, going on without", PULL_TIMEOUT_S + 5)


async def settings_known(ls: TeamkbServer) -> None:
    """Wait (bounded) for the client's first settings to be known; unlike
    `settings_ready`, not for the engine to load and apply them."""
    if ls.config_known.is_set() or not pulls_settings(ls):
        return
    try:
        await asyncio.wait_for(ls.config_known.wait(), PULL_TIMEOUT_S + 1)
    except TimeoutError:
        log.warning("no client settings after %.0fs, going on without", PULL_TIMEOUT_S + 1)


async def pull_settings(ls: TeamkbServer) -> None:
    try:
        if pulls_settings(ls):
            await _pull(ls)
    finally:
        # Even a failed pull ends the wait: the server goes on with teamkb.toml's settings.
        ls.config_known.set()
        ls.first_pull.set()


async def _pull(ls: TeamkbServer) -> None:
    try:
        params = types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
        result = await asyncio.wait_for(ls.workspace_configuration_async(params), PULL_TIMEOUT_S)
    except Exception as exc:
        log.warning("workspace/configuration failed, keeping teamkb.toml: %s", exc)
        return
    if result:
        await apply_settings(ls, result[0])


async def apply_settings(ls: TeamkbServer, data: Any) -> None:
    """Merge the client's `teamkb` section into the current settings; bad values are
    logged and ignored (see `LspSettings.merged`)."""
    new = ls.config.merged(data)
    if new == ls.config:
        return
    old, ls.config = ls.config, new
    ls.config_known.set()
    log.info("settings: %s", new)
    await ls.reconfigure(old, new)
