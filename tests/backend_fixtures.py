"""Helpers for tests of the job-API backends against their fakes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from ai_diffusion.request import Extent, GenerationRequest, Sampling
from tests.comfy_fixtures import CHECKPOINT, RunningServer
from tests.fake_serving import serve


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
    for client_id in server.fake.sockets.ids():
        await server.fake.sockets.close(client_id)
    await server.runner.shutdown()
    await server.runner.cleanup()


@contextmanager
def served_in_thread(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on its own event loop in a thread, for tests that run the CLI as a
    separate process. Yields the base URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner, url = loop.run_until_complete(serve(app))
        holder.update(runner=runner, url=url)
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), "fake server did not start"
    try:
        yield holder["url"]
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
