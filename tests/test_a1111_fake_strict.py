"""The fake WebUI refuses what the real one refuses (so the client's payloads are checked),
and the client words each refusal for the painter."""

from __future__ import annotations

import aiohttp

from ai_diffusion.backends.a1111_http import status_error
from ai_diffusion.comfy import ConnectionFailure, FailureKind, ServerConfig, ServerRejected
from tests.a1111_fixtures import RunningWebUI


async def _post(url: str, path: str, body: object, **kw: object) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url + path, json=body, **kw) as response:  # type: ignore[arg-type]
            return response.status, await response.json(), dict(response.headers)


async def test_unknown_sampler_is_400_sampler_not_found(webui: RunningWebUI) -> None:
    status, body, _ = await _post(webui.url, "/sdapi/v1/txt2img", {"sampler_name": "Fancy"})
    assert status == 400 and body["detail"] == "Sampler not found"
    assert set(body) == {"error", "detail", "body", "errors"}


async def test_wrong_field_types_are_422_naming_the_field(webui: RunningWebUI) -> None:
    status, body, _ = await _post(
        webui.url, "/sdapi/v1/txt2img", {"steps": "many", "cfg_scale": "x"}
    )
    assert status == 422
    assert {tuple(d["loc"]) for d in body["detail"]} == {("body", "steps"), ("body", "cfg_scale")}


async def test_img2img_without_init_image_is_404(webui: RunningWebUI) -> None:
    status, body, _ = await _post(webui.url, "/sdapi/v1/img2img", {"prompt": "x", "steps": 1})
    assert status == 404 and body["detail"] == "Init image not found"


async def test_api_routes_need_api_and_auth_but_extension_routes_do_not(
    webui: RunningWebUI,
) -> None:
    webui.fake.auth = ("ann", "pw")
    async with aiohttp.ClientSession() as session:
        async with session.get(webui.url + "/sdapi/v1/sd-models") as response:
            assert response.status == 401 and response.headers["WWW-Authenticate"] == "Basic"
        async with session.get(webui.url + "/sdapi/v1/loras") as response:
            assert response.status == 200
        async with session.get(webui.url + "/controlnet/model_list") as response:
            assert response.status == 200
    webui.fake.api = False
    async with aiohttp.ClientSession() as session:
        async with session.get(webui.url + "/sdapi/v1/sd-models") as response:
            assert response.status == 404


def test_refusals_in_painter_words() -> None:
    config = ServerConfig("http://pod:7860")
    unprocessable = status_error(
        config, 422,
        '{"detail":[{"loc":["body","steps"],"msg":"value is not a valid integer"}]}', "/x",
    )  # fmt: skip
    assert isinstance(unprocessable, ServerRejected)
    assert "steps: value is not a valid integer" in unprocessable.message
    missing_api = status_error(config, 404, '{"detail":"Not Found"}', "/sdapi/v1/sd-models")
    assert isinstance(missing_api, ConnectionFailure) and "--api" in missing_api.message
    no_init = status_error(config, 404, '{"detail":"Init image not found"}', "/sdapi/v1/img2img")
    assert isinstance(no_init, ServerRejected) and "Init image not found" in no_init.message
    oom = status_error(config, 500, '{"errors":"CUDA out of memory. Tried to allocate"}', "/x")
    assert "ran out of memory" in oom.message  # type: ignore[attr-defined]
    proxy = status_error(config, 502, "<html>Bad gateway</html>", "/x")
    assert isinstance(proxy, ConnectionFailure) and proxy.kind is FailureKind.PROXY_UNAVAILABLE
