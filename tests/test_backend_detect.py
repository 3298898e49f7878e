"""Which backend a pasted address gets: ComfyUI first, then the WebUI API; failures that are
not "this is not ComfyUI" are reported as they are."""

from __future__ import annotations

import socket

import pytest

from ai_diffusion.backends.a1111 import WebUIClient
from ai_diffusion.backends.detect import connect_backend
from ai_diffusion.comfy import ComfyClient, ConnectionFailure, FailureKind, ServerConfig
from tests.a1111_fixtures import RunningWebUI
from tests.comfy_fixtures import RunningServer


async def test_comfyui_is_recognised_first(server: RunningServer) -> None:
    client = await connect_backend(ServerConfig(server.url))
    assert isinstance(client, ComfyClient)
    await client.close()


async def test_a_webui_is_recognised_by_its_api(webui: RunningWebUI) -> None:
    client = await connect_backend(ServerConfig(webui.url))
    assert isinstance(client, WebUIClient)
    await client.close()


async def test_webui_login_problem_is_reported_as_a_login_problem(webui: RunningWebUI) -> None:
    webui.fake.auth = ("ann", "pw")
    with pytest.raises(ConnectionFailure) as failure:
        await connect_backend(ServerConfig(webui.url))
    assert failure.value.kind is FailureKind.AUTH and "--api-auth" in failure.value.message


async def test_forcing_the_wrong_kind_fails_in_words(webui: RunningWebUI) -> None:
    with pytest.raises(ConnectionFailure) as failure:
        await connect_backend(ServerConfig(webui.url), "comfyui")
    assert "not a ComfyUI server" in failure.value.message


async def test_nothing_listening_is_refused_without_a_second_guess() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionFailure) as failure:
        await connect_backend(ServerConfig(f"http://127.0.0.1:{port}"))
    assert failure.value.kind is FailureKind.REFUSED and "ComfyUI" in failure.value.message
