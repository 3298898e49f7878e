"""Helpers for tests of the job-API backends against their fakes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ai_diffusion.request import Extent, GenerationRequest, Sampling
from tests.comfy_fixtures import CHECKPOINT, RunningServer


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


class Sleeps:
    """Stands in for asyncio.sleep: records each pause and only yields, so no test waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


def txt2img(seed: int = 1, batch: int = 1, size: int = 64) -> GenerationRequest:
    return GenerationRequest(
        checkpoint=CHECKPOINT,
        prompt="a cat",
        extent=Extent(size, size),
        sampling=Sampling(steps=3, seed=seed, batch_size=batch),
    )


async def kill(server: RunningServer) -> None:
    """Stop a fake ComfyUI as a dead machine would: its live connections cut, nothing answers."""
    for sockets in server.fake.sockets.values():
        for ws in sockets:
            await ws.close()
    await server.runner.shutdown()
    await server.runner.cleanup()
