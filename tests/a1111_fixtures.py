"""Fixtures and helpers for tests against the fake Automatic1111/Forge WebUI API."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from aiohttp import web
from PIL import Image as PILImage

from ai_diffusion.backends.a1111 import WebUIClient
from ai_diffusion.comfy import ServerConfig
from ai_diffusion.comfy.events import JobEvent
from ai_diffusion.request import Image
from tests.fake_serving import fake_in_process, serve
from tests.fakes.a1111_server import FakeWebUI

CHECKPOINT = "dreamshaper_8.safetensors"


class RunningWebUI:
    def __init__(self, fake: FakeWebUI, runner: web.AppRunner, url: str) -> None:
        self.fake = fake
        self.runner = runner
        self.url = url


async def start_webui(fake: FakeWebUI | None = None) -> RunningWebUI:
    fake = fake or FakeWebUI()
    runner, url = await serve(fake.app())
    return RunningWebUI(fake, runner, url)


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


async def next_event(client: WebUIClient, kind: type) -> JobEvent:
    async def run() -> JobEvent:
        async for event in client.listen():
            if isinstance(event, kind):
                return event
        raise AssertionError("stream ended")

    return await asyncio.wait_for(run(), 30)


@contextlib.contextmanager
def webui_process(*flags: str) -> Iterator[str]:
    """The fake WebUI in its own process (as the CLI and Krita meet it); its address."""
    with fake_in_process("tests.fakes.a1111_server", *flags) as url:
        yield url


@pytest.fixture(scope="module")
def fake_webui_server() -> Iterator[str]:
    with webui_process() as url:
        yield url
