"""Connecting to an Automatic1111/Forge WebUI: recognised by its API, which one it is, what
it offers, and painter-worded failures for a missing --api or login."""

from __future__ import annotations

import pytest

from ai_diffusion.backends.a1111 import WebUIClient
from ai_diffusion.comfy import ConnectionFailure, FailureKind, ServerConfig
from tests.a1111_fixtures import RunningWebUI, start_webui
from tests.fakes.a1111_server import FakeWebUI


async def test_lists_what_an_a1111_offers(webui_client: WebUIClient) -> None:
    m = webui_client.models
    assert m.checkpoints == ["dreamshaper_8.safetensors", "sdxl/juggernautXL_v9.safetensors"]
    assert m.loras == ["detail_tweaker", "pixel_art_xl"]
    assert "Euler a" in m.samplers and "DPM++ 2M" in m.samplers
    assert "Karras" in m.schedulers and "Align Your Steps" in m.schedulers
    assert "R-ESRGAN 4x+" in m.upscalers and "None" not in m.upscalers
    assert m.controlnets == [
        "control_v11p_sd15_canny [d14c016b]",
        "control_v11f1p_sd15_depth [cfd03158]",
    ]
    assert "vae-ft-mse-840000-ema-pruned.safetensors" in m.vaes
    assert webui_client.catalog.flavour == "Automatic1111"
    assert m.device.name.startswith("Automatic1111") and m.device.vram_gb == 24.0


async def test_tells_forge_apart() -> None:
    running = await start_webui(FakeWebUI(forge=True))
    try:
        client = await WebUIClient.connect(ServerConfig(running.url))
        assert client.catalog.forge and client.models.device.name.startswith("Forge")
        assert "t5xxl_fp8_e4m3fn.safetensors" in client.models.vaes  # from /sd-modules
        assert client.models.controlnets  # Forge's built-in ControlNet
        await client.close()
    finally:
        await running.runner.cleanup()


async def test_without_controlnet_extension_lists_none() -> None:
    running = await start_webui(FakeWebUI(controlnet=False))
    try:
        client = await WebUIClient.connect(ServerConfig(running.url))
        assert client.models.controlnets == [] and client.catalog.controlnet_models is None
        await client.close()
    finally:
        await running.runner.cleanup()


async def test_webui_started_without_api_says_to_add_it() -> None:
    running = await start_webui(FakeWebUI(api=False))
    try:
        with pytest.raises(ConnectionFailure) as failure:
            await WebUIClient.connect(ServerConfig(running.url))
        assert failure.value.kind is FailureKind.NOT_COMFYUI
        assert "--api" in failure.value.message
    finally:
        await running.runner.cleanup()


@pytest.mark.parametrize(
    ("login", "expected"),
    [({}, "asks for a user name and password"), ({"username": "ann", "password": "nope"},
                                                 "refused the user name and password")],
)  # fmt: skip
async def test_api_auth_needs_the_right_pair(login: dict, expected: str) -> None:
    running = await start_webui(FakeWebUI(auth=("ann", "s3cret-pass")))
    try:
        with pytest.raises(ConnectionFailure) as failure:
            await WebUIClient.connect(ServerConfig(running.url, **login))
        assert failure.value.kind is FailureKind.AUTH and expected in failure.value.message
        assert "s3cret-pass" not in failure.value.message and "nope" not in failure.value.message
        client = await WebUIClient.connect(
            ServerConfig(running.url, username="ann", password="s3cret-pass")
        )
        assert client.models.checkpoints
        await client.close()
    finally:
        await running.runner.cleanup()


async def test_basic_auth_from_the_pasted_address(webui: RunningWebUI) -> None:
    webui.fake.auth = ("ann", "pw")
    url = webui.url.replace("http://", "http://ann:pw@")
    client = await WebUIClient.connect(ServerConfig(url))
    assert client.config.url == webui.url and client.models.checkpoints
    await client.close()


async def test_refresh_sees_new_checkpoints(webui: RunningWebUI, webui_client: WebUIClient) -> None:
    webui.fake.checkpoints.append(("new_model.safetensors", "1234567890"))
    models = await webui_client.refresh_models()
    assert "new_model.safetensors" in models.checkpoints
