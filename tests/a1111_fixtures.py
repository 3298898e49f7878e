"""Fixtures and helpers for tests against the fake Automatic1111/Forge WebUI API."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web
from PIL import Image as PILImage

from ai_diffusion.backends.a1111 import WebUIClient
from ai_diffusion.comfy import ServerConfig
from ai_diffusion.comfy.events import Failed, Finished, Interrupted, JobEvent
from ai_diffusion.request import Image
from tests.fakes.a1111_server import FakeWebUI

CHECKPOINT = "dreamshaper_8.safetensors"


class RunningWebUI:
    def __init__(self, fake: FakeWebUI, runner: web.AppRunner, port: int) -> None:
        self.fake = fake
        self.runner = runner
        self.url = f"http://127.0.0.1:{port}"


async def start_webui(fake: FakeWebUI | None = None) -> RunningWebUI:
    fake = fake or FakeWebUI()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return RunningWebUI(fake, runner, port)


@pytest.fixture
async def webui() -> AsyncIterator[RunningWebUI]:
    running = await start_webui()
    yield running
    await running.runner.cleanup()


@pytest.fixture
async def webui_client(webui: RunningWebUI) -> AsyncIterator[WebUIClient]:
    client = await WebUIClient.connect(ServerConfig(webui.url))
    client.poll_interval = 0.01
    yield client
    await client.close()


def png_of(array: np.ndarray) -> Image:
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, "PNG")
    return Image.from_png(buffer.getvalue())


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(data)))


async def events_until_end(client: WebUIClient, job_ids: set[str]) -> list[JobEvent]:
    events: list[JobEvent] = []
    open_jobs = set(job_ids)

    async def run() -> None:
        async for event in client.listen():
            events.append(event)
            if isinstance(event, (Finished, Failed, Interrupted)):
                open_jobs.discard(event.job_id)
                if not open_jobs:
                    return

    await asyncio.wait_for(run(), 30)
    return events


async def next_event(client: WebUIClient, kind: type) -> JobEvent:
    async def run() -> JobEvent:
        async for event in client.listen():
            if isinstance(event, kind):
                return event
        raise AssertionError("stream ended")

    return await asyncio.wait_for(run(), 30)


ROOT = Path(__file__).resolve().parent.parent


def spawn_webui(*flags: str) -> tuple[subprocess.Popen, str]:
    """The fake WebUI in its own process (as the CLI and Krita meet it); returns it and its
    address once it accepts connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.a1111_server", "--port", str(port), *flags],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=dict(os.environ),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def fake_webui_server() -> Iterator[str]:
    proc, url = spawn_webui()
    yield url
    proc.kill()
    proc.wait(10)
