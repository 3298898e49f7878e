"""How the providers' stand-ins reach the fake ComfyUI behind a pod, websockets included:
an HTTP reverse proxy (RunPod's ``https://{pod}-{port}.proxy.runpod.net``) and a TCP port
mapping (vast.ai's ``public_ipaddr:HostPort``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

import aiohttp
from aiohttp import web

# Not forwarded by a proxy (RFC 9110 §7.6.1), or set again by aiohttp.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
    "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-accept",
}  # fmt: skip


def _forwarded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in dict(headers).items() if k.lower() not in HOP_BY_HOP}


async def forward(request: web.Request, target: str) -> web.StreamResponse:
    """Send ``request`` on to ``target`` (scheme://host:port/path?query) and its answer back;
    a websocket upgrade becomes a websocket to ``target`` with messages relayed both ways."""
    headers = _forwarded_headers(request.headers)
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _websocket(request, "ws" + target[target.index(":") :], headers)
    body = await request.read()
    try:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            async with session.request(
                request.method, target, headers=headers, data=body or None, allow_redirects=False
            ) as upstream:
                data = await upstream.read()
                answer = web.Response(status=upstream.status, body=data)
                for k, v in upstream.headers.items():
                    if k.lower() not in HOP_BY_HOP:
                        answer.headers[k] = v
                return answer
    except aiohttp.ClientError:
        return bad_gateway()


def bad_gateway() -> web.Response:
    return web.Response(
        status=502,
        text="<html><body><h1>502 Bad Gateway</h1></body></html>",
        content_type="text/html",
    )


async def _websocket(
    request: web.Request, target: str, headers: dict[str, str]
) -> web.StreamResponse:
    async with aiohttp.ClientSession() as session:
        try:
            upstream = await session.ws_connect(target, headers=headers, autoping=False)
        except aiohttp.WSServerHandshakeError as e:
            return web.Response(status=e.status, text=e.message)
        except aiohttp.ClientError:
            return bad_gateway()
        downstream = web.WebSocketResponse(autoping=False)
        await downstream.prepare(request)

        async def pump(
            source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse, sink
        ) -> None:
            async for message in source:
                if message.type is aiohttp.WSMsgType.TEXT:
                    await sink.send_str(message.data)
                elif message.type is aiohttp.WSMsgType.BINARY:
                    await sink.send_bytes(message.data)
                elif message.type is aiohttp.WSMsgType.PING:
                    await sink.ping(message.data)
                elif message.type is aiohttp.WSMsgType.PONG:
                    await sink.pong(message.data)
            await sink.close()

        tasks = [
            asyncio.ensure_future(pump(upstream, downstream)),
            asyncio.ensure_future(pump(downstream, upstream)),
        ]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await upstream.close()
        await downstream.close()
        return downstream


class PortMapping:
    """One public port relaying raw TCP to ``127.0.0.1:target_port`` while it is open; closing it
    cuts every connection through it (as a stopped instance's mapping does)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)
            self.server = None
