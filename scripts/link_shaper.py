"""A home connection on loopback, for benchmarks: a TCP proxy that adds a round-trip delay and
caps the bandwidth of each direction.

Each chunk read from one side leaves for the other side when the capped link has carried the
chunks before it (serialisation at ``up_bps`` / ``down_bps``) plus half the round trip
(propagation). Upload is client → server. Not for production use; benchmarks only.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    rtt_s: float = 0.040
    up_bps: float = 20e6
    down_bps: float = 100e6

    def describe(self) -> str:
        return f"{self.rtt_s * 1000:.0f} ms RTT, {self.up_bps / 1e6:g} Mbit/s up, {self.down_bps / 1e6:g} Mbit/s down"


class LinkShaper:
    def __init__(self, target_host: str, target_port: int, link: Link) -> None:
        self.target = (target_host, target_port)
        self.link = link
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> LinkShaper:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        half = self.link.rtt_s / 2
        for task in (
            asyncio.ensure_future(_pipe(reader, up_writer, half, self.link.up_bps)),
            asyncio.ensure_future(_pipe(up_reader, writer, half, self.link.down_bps)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


async def _pipe(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, delay: float, bps: float
) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            release, chunk = await queue.get()
            wait = release - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:
                with contextlib.suppress(Exception):
                    sink.close()
                return
            sink.write(chunk)
            with contextlib.suppress(ConnectionError):
                await sink.drain()

    sender = asyncio.ensure_future(deliver())
    free_at = loop.time()
    try:
        while True:
            try:
                chunk = await source.read(64 * 1024)
            except ConnectionError:
                chunk = b""
            now = loop.time()
            free_at = max(now, free_at) + len(chunk) * 8 / bps
            queue.put_nowait((free_at + delay, chunk))
            if not chunk:
                break
        await sender
    finally:
        sender.cancel()
