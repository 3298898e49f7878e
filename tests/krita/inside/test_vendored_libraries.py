"""Runs inside Krita's own Python (3.11 in Debian's 5.1, 3.14 in 5.3 and 6.0): the libraries the
zip vendors import from the zip, in their pure-Python form, and do a real round trip (HTTP and
websocket through aiohttp's server, websockets' client)."""

import asyncio
import json
import os
import sys

import pytest


def _vendor_dir():
    import ai_diffusion

    return os.path.join(os.path.dirname(ai_diffusion.__file__), "vendor")


@pytest.mark.parametrize(
    "name", ["aiohttp", "websockets", "yarl", "multidict", "qasync", "keyring", "propcache"]
)
def test_each_vendored_library_imports_from_the_zip(name):
    import ai_diffusion  # noqa: F401  (puts the vendor folder first)

    module = __import__(name)
    assert module.__file__.startswith(_vendor_dir()), (name, module.__file__, sys.version)


def test_http_and_websocket_round_trip_with_the_vendored_libraries():
    from aiohttp import ClientSession, WSMsgType, web
    from websockets.asyncio.client import connect

    import ai_diffusion  # noqa: F401

    async def hello(request):
        return web.json_response({"python": sys.version.split()[0], "echo": request.query["q"]})

    async def echo(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_str(message.data.upper())
        return ws

    async def main():
        app = web.Application()
        app.router.add_get("/hello", hello)
        app.router.add_get("/ws", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            async with ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/hello?q=fox") as response:
                    body = json.loads(await response.text())
            async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
                await ws.send("brush")
                answer = await ws.recv()
        finally:
            await runner.cleanup()
        return body, answer

    body, answer = asyncio.run(main())
    assert body == {"python": sys.version.split()[0], "echo": "fox"}
    assert answer == "BRUSH"
