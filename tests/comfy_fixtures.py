"""Fixtures and helpers for tests against the fake ComfyUI server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image as PILImage

from ai_diffusion.backends.contract import Backend
from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Failed, Finished, Interrupted, JobEvent
from ai_diffusion.request import Image
from tests.fake_serving import fake_in_process, serve
from tests.fakes.comfy_server import CAPTURES, DEFAULT_VERSION, VERSIONS, FakeComfy

CHECKPOINT = "random-sd15-tiny.safetensors"
OBJECT_INFO_PATH: Path = CAPTURES / DEFAULT_VERSION / "object_info.json"


def object_info(version: str = DEFAULT_VERSION) -> dict:
    """``/object_info`` of a recorded ComfyUI (a fresh copy, free to change)."""
    return json.loads((CAPTURES / version / "object_info.json").read_text())


class RunningServer:
    def __init__(self, fake: FakeComfy, runner: web.AppRunner, url: str) -> None:
        self.fake = fake
        self.runner = runner
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])


async def start_server(fake: FakeComfy | None = None, port: int = 0) -> RunningServer:
    fake = fake or FakeComfy.create()
    runner, url = await serve(fake.app(), port)
    return RunningServer(fake, runner, url)


@pytest.fixture(params=VERSIONS)
async def server(request: pytest.FixtureRequest) -> AsyncIterator[RunningServer]:
    """The fake ComfyUI, once as each recorded version."""
    running = await start_server(FakeComfy.create(version=request.param))
    yield running
    await running.runner.cleanup()


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[ComfyClient]:
    c = await ComfyClient.connect(ServerConfig(server.url))
    c.reconnect_delays = (0.05, 0.1, 0.2, 0.4)
    yield c
    await c.close()


def png(width: int, height: int, colour=(200, 100, 50), mode: str = "RGB") -> Image:
    buffer = io.BytesIO()
    PILImage.new(mode, (width, height), colour).save(buffer, "PNG")
    return Image.from_png(buffer.getvalue())


async def collect(client: Backend, job_ids: set[str], timeout: float = 20) -> list[JobEvent]:
    """Events until every job in ``job_ids`` ended (finished, failed or interrupted)."""
    events: list[JobEvent] = []
    open_jobs = set(job_ids)

    async def run() -> None:
        async for event in client.listen():
            events.append(event)
            if isinstance(event, (Finished, Failed, Interrupted)):
                open_jobs.discard(event.job_id)
                if not open_jobs:
                    return

    await asyncio.wait_for(run(), timeout)
    return events


@contextlib.contextmanager
def fake_process(*options: str) -> Iterator[str]:
    """The fake ComfyUI in its own process (``options`` as on its command line); its URL."""
    with fake_in_process("tests.fakes.comfy_server", *options) as url:
        yield url


@pytest.fixture(scope="module")
def fake_server() -> Iterator[str]:
    """The fake ComfyUI in its own process (as the CLI, Krita and benchmarks meet it)."""
    with fake_process() as url:
        yield url
