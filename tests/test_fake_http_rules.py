"""HTTP rules of ComfyUI that the fake follows: /view by type and subfolder, uploads into
subfolders, the Origin and cross-site rules, client-chosen prompt ids, routes under /api."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Finished
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from ai_diffusion.workflow import build_workflow
from tests.comfy_fixtures import CHECKPOINT, RunningServer, collect


def txt2img() -> GenerationRequest:
    return GenerationRequest(
        checkpoint=CHECKPOINT, extent=Extent(64, 64), sampling=Sampling(steps=1, seed=4)
    )


async def test_view_finds_a_file_only_under_its_type_and_subfolder(
    client: ComfyClient, server: RunningServer
) -> None:
    job = await client.submit(txt2img())
    events = await collect(client, {job})
    assert isinstance(events[-1], Finished)
    ((kind, subfolder, name),) = server.fake.outputs
    assert (kind, subfolder) == ("output", "")
    async with aiohttp.ClientSession() as session:
        for query, status in (
            ({"filename": name, "type": "output"}, 200),
            ({"filename": name}, 200),  # output is the default
            ({"filename": name, "type": "temp"}, 404),
            ({"filename": name, "type": "input"}, 404),
            ({"filename": name, "type": "output", "subfolder": "other"}, 404),
        ):
            async with session.get(server.url + "/view", params=query) as response:
                assert response.status == status, query


async def test_uploads_keep_their_subfolder(server: RunningServer) -> None:
    form = aiohttp.FormData()
    form.add_field("image", b"\x89PNG-bytes", filename="x.png", content_type="image/png")
    form.add_field("subfolder", "masks")
    async with aiohttp.ClientSession() as session:
        async with session.post(server.url + "/upload/image", data=form) as response:
            assert await response.json() == {"name": "x.png", "subfolder": "masks", "type": "input"}
        query = {"filename": "x.png", "type": "input", "subfolder": "masks"}
        async with session.get(server.url + "/view", params=query) as response:
            assert await response.read() == b"\x89PNG-bytes"
    assert "masks/x.png" in server.fake.inputs


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example", "Host": "pod.example"},
        {"Origin": "http://localhost:8188"},  # 127.0.0.1 is another host to ComfyUI
    ],
)
async def test_browser_requests_from_elsewhere_are_refused(
    server: RunningServer, headers: dict[str, str]
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/system_stats", headers=headers) as response:
            assert response.status == 403
        async with session.get(server.url + "/api/system_stats") as response:
            assert response.status == 200  # the same route under /api, without those headers


async def test_the_client_works_against_the_routes_under_api(server: RunningServer) -> None:
    client = await ComfyClient.connect(ServerConfig(server.url + "/api"))
    try:
        job = await client.submit(txt2img())
        assert isinstance((await collect(client, {job}))[-1], Finished)
    finally:
        await client.close()


async def test_a_client_chosen_prompt_id_must_be_a_canonical_uuid(
    client: ComfyClient, server: RunningServer
) -> None:
    graph = build_workflow(txt2img(), client.models.object_info).graph
    chosen = str(uuid.uuid4())
    refused = 400 if server.fake.behaviour.uuid_ids else 200  # since ComfyUI 0.25
    async with aiohttp.ClientSession() as session:
        for prompt_id, status in ((chosen.upper(), refused), ("job-1", refused), (chosen, 200)):
            body = {"prompt": graph, "client_id": "x", "prompt_id": prompt_id}
            async with session.post(server.url + "/prompt", json=body) as response:
                assert response.status == status, prompt_id
                if status == 200:
                    assert (await response.json())["prompt_id"] == prompt_id
