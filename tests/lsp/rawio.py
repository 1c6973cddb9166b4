"""The real server over raw stdio framing: bytes in, parsed JSON-RPC frames out, so tests
can send what no well-behaved client library would (bad headers, bad JSON, bad params)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.lsp.conftest import server_command


def frame(body: bytes | str, length: int | str | None = None) -> bytes:
    data = body.encode() if isinstance(body, str) else body
    return f"Content-Length: {len(data) if length is None else length}\r\n\r\n".encode() + data


def message(obj: Any) -> bytes:
    return frame(json.dumps(obj))


class RawServer:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[dict[str, Any]] = []  # every frame read, in order

    @classmethod
    async def start(cls, toml: Path) -> RawServer:
        proc = await asyncio.create_subprocess_exec(
            *server_command(toml),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        await self.proc.stdin.drain()

    async def request(self, msg_id: int | str, method: str, params: Any) -> None:
        await self.send(message({"jsonrpc": "2.0", "id": msg_id, "method": method,
                                 "params": params}))  # fmt: skip

    async def notify(self, method: str, params: Any) -> None:
        await self.send(message({"jsonrpc": "2.0", "method": method, "params": params}))

    async def read(self, timeout: float = 60.0) -> dict[str, Any]:
        """The next frame the server writes, answering its own requests to the client
        (`workspace/configuration` and the like) with null so it never waits on us."""
        out = self.proc.stdout
        assert out is not None

        async def one() -> dict[str, Any]:
            length = 0
            while (line := await out.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length, "the server closed its output"
            return json.loads(await out.readexactly(length))  # type: ignore[no-any-return]

        msg = await asyncio.wait_for(one(), timeout)
        self.seen.append(msg)
        if "method" in msg and "id" in msg:
            await self.send(message({"jsonrpc": "2.0", "id": msg["id"], "result": None}))
        return msg

    async def response(self, msg_id: int | str | None, timeout: float = 60.0) -> dict[str, Any]:
        """The response with this id (None: an error response with id null)."""
        while True:
            msg = await self.read(timeout)
            if "method" not in msg and msg.get("id") == msg_id:
                return msg

    async def initialize(self, root: Path) -> dict[str, Any]:
        await self.request(0, "initialize", {"processId": None, "rootUri": root.as_uri(),
                                             "capabilities": {}})  # fmt: skip
        result = await self.response(0)
        await self.notify("initialized", {})
        return result

    async def close(self) -> int:
        """Shut down politely; the exit status (killed after 10 s if it hangs)."""
        try:
            await self.request("bye", "shutdown", None)
            await self.response("bye", timeout=10)
            await self.notify("exit", None)
            return await asyncio.wait_for(self.proc.wait(), 10)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
