"""Every backend gives results at the size asked for (the canvas, or the input image such as a
selection's crop), whatever size it sampled at: the docker and the CLI place them as they come.
One test over the backends, the resolution choices and the modes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

from ai_diffusion.backends.png import decode
from ai_diffusion.backends.pool import PoolConfig
from ai_diffusion.backends.runpod_serverless import RunPodServerlessConfig
from ai_diffusion.backends.salad import SaladConfig
from ai_diffusion.backends.select import ServerKind, connect_backend
from ai_diffusion.comfy import ServerConfig
from ai_diffusion.comfy.events import Finished
from ai_diffusion.request import Extent, GenerationRequest, Resolution, Sampling
from tests.a1111_fixtures import start_webui
from tests.backend_fixtures import Sleeps, serve
from tests.comfy_fixtures import CHECKPOINT, collect, png, start_server
from tests.fakes.runpod_serverless import FakeServerless
from tests.fakes.salad_server import FakeSaladGroup

WEBUI_CHECKPOINT = "dreamshaper_8.safetensors"  # an SD1.5 model the fake WebUI lists
RESOLUTIONS = {"auto": Resolution(), "own": Resolution(own_size=True), "50%": Resolution(0.5)}
Starter = Callable[[contextlib.AsyncExitStack], Any]


async def _comfy(stack: contextlib.AsyncExitStack) -> tuple[Any, str]:
    server = await start_server()
    stack.push_async_callback(server.runner.cleanup)
    return ServerKind(ServerConfig(server.url), "comfyui"), CHECKPOINT


async def _webui(stack: contextlib.AsyncExitStack) -> tuple[Any, str]:
    webui = await start_webui()
    stack.push_async_callback(webui.runner.cleanup)
    return ServerKind(ServerConfig(webui.url), "a1111"), WEBUI_CHECKPOINT


async def _runpod(stack: contextlib.AsyncExitStack) -> tuple[Any, str]:
    fake = FakeServerless()
    runner, url = await serve(fake.app())
    fake.base_url = url
    stack.push_async_callback(runner.cleanup)
    config = RunPodServerlessConfig(fake.endpoint_id, api_key=fake.api_key,
                                    api_base=url + "/v2", models=(CHECKPOINT,),
                                    poll_delays=(0.0,), price_per_second=0.001)  # fmt: skip
    return config, CHECKPOINT


async def _salad(stack: contextlib.AsyncExitStack) -> tuple[Any, str]:
    fake = FakeSaladGroup()
    runner, url = await serve(fake.app())
    stack.push_async_callback(runner.cleanup)
    return SaladConfig(url, api_key=fake.api_key or ""), CHECKPOINT


async def _pool(stack: contextlib.AsyncExitStack) -> tuple[Any, str]:
    """A WebUI and a ComfyUI together; the WebUI's checkpoint name reaches the WebUI."""
    webui, _ = await _webui(stack)
    comfy, _ = await _comfy(stack)
    return PoolConfig((webui.server, comfy.server)), WEBUI_CHECKPOINT


BACKENDS: dict[str, Starter] = {
    "comfyui": _comfy, "webui": _webui, "runpod-serverless": _runpod, "salad": _salad,
    "pool": _pool,
}  # fmt: skip


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Any, str]]:
    async with contextlib.AsyncExitStack() as stack:
        config, checkpoint = await BACKENDS[request.param](stack)
        client = await connect_backend(config, sleep=Sleeps())
        stack.push_async_callback(client.close)
        yield client, checkpoint


def _requests(checkpoint: str) -> dict[str, tuple[GenerationRequest, Extent]]:
    base = GenerationRequest(checkpoint=checkpoint, prompt="a fox", extent=Extent(96, 64),
                             sampling=Sampling(steps=2, seed=3, batch_size=2))  # fmt: skip
    crop = png(80, 48, (90, 140, 200))
    return {
        "txt2img": (base, Extent(96, 64)),
        "img2img": (replace(base, image=crop, strength=0.6), Extent(80, 48)),
    }


@pytest.mark.parametrize("resolution", sorted(RESOLUTIONS))
async def test_results_come_back_at_the_size_asked_for(
    backend: tuple[Any, str], resolution: str
) -> None:
    client, checkpoint = backend
    for mode, (request, size) in _requests(checkpoint).items():
        job = await client.submit(replace(request, resolution=RESOLUTIONS[resolution]))
        (finished,) = [e for e in await collect(client, {job}, 60) if isinstance(e, Finished)]
        sizes = [(decode(image).width, decode(image).height) for image in finished.images]
        assert sizes == [(size.width, size.height)] * 2, (mode, resolution)
