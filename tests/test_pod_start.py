"""A pod the plugin rents starts its gateway beside ComfyUI: the start command is run here for
real (bash, the packed gateway, a stand-in for the image's own start), and then only the pod's
token gets through, to HTTP and to the websocket alike. The providers are asked to expose only
the gateway's port."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from ai_diffusion.cloud.images import DEFAULT_IMAGE
from ai_diffusion.cloud.pod_start import (
    GATEWAY_PORT,
    SOURCE_ENV,
    TOKEN_ENV,
    pod_spec,
    service_port,
    start_script,
    unpack,
)
from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Finished
from ai_diffusion.pod_gateway import gateway_source
from tests.backend_fixtures import txt2img
from tests.comfy_fixtures import collect
from tests.fake_serving import _wait_for, free_port

ROOT = Path(__file__).resolve().parent.parent


def test_every_rented_pod_gets_its_own_token_and_the_gateway_program() -> None:
    first = pod_spec(DEFAULT_IMAGE, gateway_source())
    second = pod_spec(DEFAULT_IMAGE, gateway_source())
    assert first.token and second.token and first.token != second.token
    env = first.environment()
    assert env[TOKEN_ENV] == first.token
    assert unpack(env[SOURCE_ENV]) == gateway_source()
    assert first.exposed_port == GATEWAY_PORT == service_port(DEFAULT_IMAGE)
    assert first.token not in first.args and first.token not in repr(first)
    assert DEFAULT_IMAGE.start in first.args  # the image's own start still runs


@pytest.fixture
def pod(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The start command of a pod spec run by bash, with the fake ComfyUI as the image's own
    start. Yields the gateway's URL and the pod's token."""
    comfy_port, gateway_port = free_port(), free_port()
    image = replace(
        DEFAULT_IMAGE,
        port=comfy_port,
        models_path=str(tmp_path / "models"),
        start=f"{shlex.quote(sys.executable)} -m tests.fakes.comfy_server --port {comfy_port}",
    )
    spec = pod_spec(image, gateway_source())
    script = start_script(image, gateway_port)
    env = {**os.environ, **spec.environment()}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # a Python with aiohttp
    proc = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_for(comfy_port)
        _wait_for(gateway_port)
        assert spec.token
        yield f"http://127.0.0.1:{gateway_port}", spec.token
    finally:
        os.killpg(proc.pid, 9)
        proc.wait(10)


async def test_the_started_pod_lets_only_its_token_through(pod: tuple[str, str]) -> None:
    url, token = pod
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer not-the-pod-token-at-all"}):
            async with session.get(url + "/system_stats", headers=headers) as response:
                assert response.status == 401
            async with session.post(url + "/prompt", json={"prompt": {}}, headers=headers) as r:
                assert r.status == 401
    client = await ComfyClient.connect(ServerConfig(url, token=token))
    try:
        job = await client.submit(txt2img())
        events = await collect(client, {job})
        assert isinstance(events[-1], Finished) and len(events[-1].images) == 1
    finally:
        await client.close()
    with pytest.raises(Exception):  # noqa: B017 - refused in any of the client's words
        await ComfyClient.connect(ServerConfig(url, token="wrong-token-0123456789"))


async def test_providers_expose_only_the_gateway(tmp_path: Path) -> None:
    spec = pod_spec(DEFAULT_IMAGE, gateway_source())
    from ai_diffusion.cloud.models import GpuOption
    from ai_diffusion.cloud.runpod import RunPodProvider
    from ai_diffusion.cloud.vast import VastProvider
    from tests.fake_serving import serve
    from tests.fakes.runpod_server import FakeRunPod
    from tests.fakes.vast_server import FakeVast

    runpod, vast = FakeRunPod(), FakeVast()
    rp_runner, rp_url = await serve(runpod.app())
    va_runner, va_url = await serve(vast.app())
    try:
        provider = RunPodProvider(runpod.api_key, base_url=rp_url)
        gpu = (await provider.list_gpus())[0]
        created = await provider.create_pod(spec, gpu)
        body = runpod.pods[created.id]
        assert body["ports"] == [f"{GATEWAY_PORT}/http", "22/tcp"]
        assert body["env"][TOKEN_ENV] == spec.token
        v = VastProvider(vast.api_key, base_url=va_url)
        offer: GpuOption = (await v.list_gpus())[0]
        instance = await v.create_pod(spec, offer)
        env = vast.instances[int(instance.id)]["env"]
        assert [k for k in env if k.startswith("-p ")] == [
            f"-p {GATEWAY_PORT}:{GATEWAY_PORT}",
            "-p 22:22",
        ]
        assert vast.instances[int(instance.id)]["args"][:2] == ["bash", "-c"]
    finally:
        await rp_runner.cleanup()
        await va_runner.cleanup()
