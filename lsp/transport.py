"""The frame reader for stdio and TCP, in place of pygls' `run_async`.

pygls reads `Content-Length: N` with an exact pattern: a header it cannot read (`abc`, a
negative or absurd length) leaves it reading bodies as header lines, deaf to every later
message. This reader drops such a frame and resynchronises on the next header it sees,
even one glued to the end of the dropped body (bodies need not end in a newline)."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
from typing import TYPE_CHECKING, BinaryIO, Protocol

from pygls.io_ import StdinAsyncReader, StdoutWriter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable

    from lsp.protocol import TeamkbProtocol
    from lsp.server import TeamkbServer

log = logging.getLogger(__name__)

# At the end of a line, so a header glued to a dropped body is found too.
HEADER = re.compile(rb"Content-Length[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?\n\Z", re.IGNORECASE)
MAX_BODY = 64 * 2**20  # far above any real message; more is a corrupt header


class Reader(Protocol):
    def readline(self) -> Awaitable[bytes]: ...

    def readexactly(self, n: int) -> Awaitable[bytes]: ...


def parse_length(value: bytes) -> int | None:
    """A Content-Length header's value as a length, or None (logged) when unusable."""
    if value.isdigit() and 0 < int(value) <= MAX_BODY:
        return int(value)
    log.warning("bad frame header Content-Length: %r; frame dropped, waiting for the "
                "next header", value[:40])  # fmt: skip
    return None


async def frames(reader: Reader, stop: threading.Event) -> AsyncIterator[bytes]:
    """Message bodies until end of input."""
    length: int | None = None
    while not stop.is_set():
        line = await reader.readline()
        if not line:
            return
        if line.strip():
            # Other headers (Content-Type) and stray text change nothing; a bad length
            # drops the frame even after a good one.
            if (m := HEADER.search(line)) is not None:
                length = parse_length(m.group(1))
            continue
        if length is None:
            continue  # end of a dropped frame's headers: skip until the next header
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            return
        if len(body) < length:  # stdin's read() returns short at end of input
            return
        length = None
        yield body


async def serve(reader: Reader, protocol: TeamkbProtocol, stop: threading.Event) -> None:
    async for body in frames(reader, stop):
        try:
            protocol.handle_frame(body)
        except Exception:  # one bad message must not end the session
            log.exception("message not handled")


def start_io(server: TeamkbServer, stdin: BinaryIO | None = None,
             stdout: BinaryIO | None = None) -> None:  # fmt: skip
    """pygls' `start_io`, with our reader loop."""
    server._stop_event = stop = threading.Event()
    reader = StdinAsyncReader(stdin or sys.stdin.buffer, server.thread_pool)
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    try:
        asyncio.run(serve(reader, server.protocol, stop))
    except BrokenPipeError:
        log.error("connection to the client lost, shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()


def start_tcp(server: TeamkbServer, host: str, port: int) -> None:
    """pygls' `start_tcp` (one client, for debugging), with our reader loop."""
    server._stop_event = stop = threading.Event()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.protocol.set_writer(writer)
        await serve(reader, server.protocol, stop)
        server.shutdown()

    async def listen() -> None:
        server._server = await asyncio.start_server(connection, host, port)
        async with server._server:
            await server._server.serve_forever()

    try:
        asyncio.run(listen())
    except asyncio.CancelledError:
        log.debug("tcp server cancelled")
