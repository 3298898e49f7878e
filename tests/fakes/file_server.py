"""A model host for the gateway's tests and benchmark (as Hugging Face or Civitai would be), and
a TCP link that cuts or slows connections (between a client and the gateway).

Files are made up from their name and size: ``GET /files/<size>/<name>`` serves
:func:`content` (``size`` bytes). Query options shape the answer:

- ``rate=N``: at most N bytes per second on each connection;
- ``cut=N&cuts=K``: the first K requests for this path close the connection after N bytes;
- ``norange=1``: ignore Range, send no Accept-Ranges; ``chunked=1``: no Content-Length;
- ``corrupt=1``: one byte differs (a wrong checksum);
- ``cd=NAME``: ``Content-Disposition: attachment; filename="NAME"``;
- ``auth=TOKEN``: answer 401 unless ``Authorization: Bearer TOKEN`` is sent;
- ``GET /redirect/<host:port>/<rest>``: 302 to ``http://<host:port>/<rest>`` (same query).

``GET /log`` lists the requests seen (host, path, whether an Authorization header came).

Run alone:  python -m tests.fakes.file_server --port 8400
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import re
from typing import Any

from aiohttp import web

BLOCK = 64 * 1024


def content(name: str, size: int) -> bytes:
    """The made-up bytes of a file: a repeated hash chain seeded by the name."""
    seed = hashlib.sha256(name.encode()).digest()
    block = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(2048))
    return (block * (size // len(block) + 1))[:size]


def sha256(name: str, size: int) -> str:
    return hashlib.sha256(content(name, size)).hexdigest()


class FileServer:
    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.cuts: dict[str, int] = {}
        self._cache: dict[tuple[str, int], bytes] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/log", self.show_log)
        app.router.add_route("*", "/redirect/{target}/{rest:.*}", self.redirect)
        app.router.add_route("*", "/files/{size:\\d+}/{name:.*}", self.file)
        return app

    def _note(self, request: web.Request) -> None:
        self.log.append(
            {
                "host": request.host,
                "path": request.path,
                "auth": "Authorization" in request.headers,
                "range": request.headers.get("Range", ""),
            }
        )

    async def show_log(self, request: web.Request) -> web.Response:
        return web.json_response(self.log)

    async def redirect(self, request: web.Request) -> web.Response:
        self._note(request)
        target = request.match_info["target"]
        query = f"?{request.query_string}" if request.query_string else ""
        raise web.HTTPFound(f"http://{target}/{request.match_info['rest']}{query}")

    async def file(self, request: web.Request) -> web.StreamResponse:
        self._note(request)
        q = request.query
        if "auth" in q and request.headers.get("Authorization") != f"Bearer {q['auth']}":
            return web.json_response({"error": "login needed"}, status=401)
        name, size = request.match_info["name"], int(request.match_info["size"])
        key = (name, size)
        if key not in self._cache:
            self._cache[key] = content(name, size)
        data = self._cache[key]
        if q.get("corrupt"):
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        start, end, status = 0, size - 1, 200
        ranges = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("Range", ""))
        if ranges and not q.get("norange"):
            start = int(ranges[1])
            end = min(int(ranges[2]) if ranges[2] else size - 1, size - 1)
            if start >= size:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
            status = 206
        response = web.StreamResponse(status=status)
        if not q.get("norange"):
            response.headers["Accept-Ranges"] = "bytes"
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        if "cd" in q:
            response.headers["Content-Disposition"] = f'attachment; filename="{q["cd"]}"'
        if q.get("chunked"):
            response.enable_chunked_encoding()
        else:
            response.content_length = end + 1 - start
        await response.prepare(request)
        cut = int(q.get("cut", 0))
        if cut and self.cuts.get(request.path, 0) < int(q.get("cuts", 1)):
            self.cuts[request.path] = self.cuts.get(request.path, 0) + 1
        else:
            cut = 0
        rate = float(q.get("rate", 0))
        began = asyncio.get_running_loop().time()
        sent = 0
        for offset in range(start, end + 1, BLOCK):
            piece = data[offset : min(offset + BLOCK, end + 1)]
            if cut and sent + len(piece) > cut:
                await response.write(piece[: cut - sent])
                assert request.transport is not None
                request.transport.abort()  # the connection drops mid-file
                return response
            await response.write(piece)
            sent += len(piece)
            if rate:
                ahead = began + sent / rate - asyncio.get_running_loop().time()
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await response.write_eof()
        return response


class CuttingLink:
    """A TCP proxy on loopback to ``target_port``: it may cap the client → server rate
    (``up_rate`` bytes/s) and close the connections once ``cut_after`` bytes went up (once)."""

    def __init__(self, target_port: int, up_rate: float = 0, cut_after: int = 0) -> None:
        self.target_port = target_port
        self.up_rate = up_rate
        self.cut_after = cut_after
        self.cut_done = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CuttingLink:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        up = asyncio.ensure_future(self._pump(reader, up_writer, upward=True))
        down = asyncio.ensure_future(self._pump(up_reader, writer, upward=False))
        self._tasks |= {up, down}
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        for w in (writer, up_writer):
            w.transport.abort()
        self._tasks -= {up, down}

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upward: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        began, sent = loop.time(), 0
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(BLOCK):
                if upward and self.cut_after and not self.cut_done:
                    if sent + len(data) >= self.cut_after:
                        self.cut_done = True
                        writer.write(data[: self.cut_after - sent])
                        await writer.drain()
                        return
                writer.write(data)
                await writer.drain()
                sent += len(data)
                if upward and self.up_rate:
                    ahead = began + sent / self.up_rate - loop.time()
                    if ahead > 0:
                        await asyncio.sleep(ahead)


async def _serve(host: str, port: int) -> None:
    runner = web.AppRunner(FileServer().app())
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    actual = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"file server on http://{host}:{actual}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Made-up model files for the gateway's tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
