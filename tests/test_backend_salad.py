"""SaladCloud comfyui-api against a fake container group (gateway + replicas), as documented."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from ai_diffusion.backends.salad import SaladComfyApi, SaladConfig
from ai_diffusion.comfy.errors import ConnectionFailure, FailureKind
from ai_diffusion.comfy.events import Failed, Finished, Interrupted, Queued, Started
from ai_diffusion.errors import UserError
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from tests.backend_fixtures import Sleeps, serve, txt2img
from tests.comfy_fixtures import CHECKPOINT, collect, png
from tests.fakes.executor import decode_png
from tests.fakes.salad_server import FakeSaladGroup


class Group:
    def __init__(self, fake: FakeSaladGroup, url: str) -> None:
        self.fake = fake
        self.url = url
        self.sleeps = Sleeps()

    async def connect(self, **changes: object) -> SaladComfyApi:
        config = replace(SaladConfig(self.url, api_key=self.fake.api_key or ""), **changes)  # type: ignore[arg-type]
        return await SaladComfyApi.connect(config, sleep=self.sleeps)


@pytest.fixture
async def group() -> AsyncIterator[Group]:
    fake = FakeSaladGroup()
    runner, url = await serve(fake.app())
    yield Group(fake, url)
    await runner.cleanup()


@pytest.fixture
async def backend(group: Group) -> AsyncIterator[SaladComfyApi]:
    b = await group.connect()
    yield b
    await b.close()


async def test_models_come_from_the_models_route(backend: SaladComfyApi) -> None:
    assert CHECKPOINT in backend.models.checkpoints
    assert "random-sd15-lora.safetensors" in backend.models.loras
    assert backend.models.upscalers


async def test_txt2img_delivers_real_pixels_with_the_key_header(
    group: Group, backend: SaladComfyApi
) -> None:
    job = await backend.submit(txt2img(batch=2, size=64))
    events = await collect(backend, {job})  # type: ignore[arg-type]
    assert [type(e) for e in events] == [Queued, Started, Finished]
    images = events[-1].images  # type: ignore[union-attr]
    assert len(images) == 2 and decode_png(images[0]).shape[:2] == (64, 64)
    assert all(h.get("Salad-Api-Key") == group.fake.api_key for h in group.fake.headers_seen)
    assert group.fake.posted[-1]["id"] == job


async def test_inputs_travel_as_plain_base64_in_the_load_image_nodes(
    group: Group, backend: SaladComfyApi
) -> None:
    image = png(64, 64, (10, 200, 30))
    request = GenerationRequest(
        checkpoint=CHECKPOINT, prompt="x", image=image, mask=png(64, 64, 255, "L"),
        extent=Extent(64, 64), sampling=Sampling(steps=2),
    )  # fmt: skip
    uploads: list[tuple[int, int]] = []
    job = await backend.submit(request, lambda sent, total: uploads.append((sent, total)))
    end = (await collect(backend, {job}))[-1]  # type: ignore[arg-type]
    assert isinstance(end, Finished), end
    total = uploads[0][1]  # the docker's upload bar: from nothing to the whole body with images
    assert uploads == [(0, total), (total, total)] and total > len(image.data)
    sent = group.fake.posted[-1]["prompt"]
    loaded = [n["inputs"]["image"] for n in sent.values() if n["class_type"] == "LoadImage"]
    assert base64.b64decode(loaded[0]) == image.data


async def test_without_key_the_gateway_refusal_says_to_enter_one(group: Group) -> None:
    with pytest.raises(ConnectionFailure) as error:
        await group.connect(api_key="")
    assert error.value.kind is FailureKind.AUTH and "Enter your key" in error.value.message


async def test_wrong_key_is_not_echoed(group: Group) -> None:
    with pytest.raises(ConnectionFailure) as error:
        await group.connect(api_key="salad-wrong-key-000000")
    assert "salad-wrong-key" not in error.value.message


async def test_no_ready_replica_says_wait(group: Group) -> None:
    for r in group.fake.replicas:
        r.ready = False
    with pytest.raises(ConnectionFailure) as error:
        await group.connect()
    assert error.value.kind is FailureKind.STARTING and "no ready replica" in error.value.message


@pytest.mark.parametrize("fault", ["vanish", "vanish_status"])
async def test_replica_vanishing_mid_job_is_retried_once_elsewhere_with_same_inputs(
    group: Group, backend: SaladComfyApi, fault: str
) -> None:
    group.fake.faults = [fault]
    job = await backend.submit(txt2img(seed=7))
    events = await collect(backend, {job})  # type: ignore[arg-type]
    assert isinstance(events[-1], Finished)
    assert sum(isinstance(e, Finished) for e in events) == 1
    first, second = group.fake.posted[-2:]
    assert first == second, "the same graph, images and seed are sent again"
    ran = [r.name for r in group.fake.replicas if job in r.ran]
    gone = [r.name for r in group.fake.replicas if not r.ready]
    assert len(ran) == 1 and ran != gone
    assert job in backend.retried


async def test_second_vanish_fails_with_a_sentence(group: Group, backend: SaladComfyApi) -> None:
    group.fake.faults = ["vanish_status", "vanish_status"]
    job = await backend.submit(txt2img())
    end = (await collect(backend, {job}))[-1]  # type: ignore[arg-type]
    assert isinstance(end, Failed) and "went away" in end.message
    assert len(group.fake.posted) == 2, "retried once, not more"


async def test_gateway_cut_after_100_s_says_how_to_shorten_the_job(
    group: Group, backend: SaladComfyApi
) -> None:
    group.fake.faults = ["cut"]
    job = await backend.submit(txt2img())
    end = (await collect(backend, {job}))[-1]  # type: ignore[arg-type]
    assert isinstance(end, Failed) and "100 seconds" in end.message and "fewer steps" in end.message
    assert len(group.fake.posted) == 1, "a cut job is not sent again (it would be cut again)"


async def test_missing_model_fails_naming_it(backend: SaladComfyApi) -> None:
    job = await backend.submit(replace(txt2img(), checkpoint="not-there.safetensors"))
    end = (await collect(backend, {job}))[-1]  # type: ignore[arg-type]
    assert isinstance(end, Failed) and "not-there.safetensors" in end.message


async def test_cancel_interrupts_own_job_only(group: Group, backend: SaladComfyApi) -> None:
    group.fake.faults = ["hold"]
    job = await backend.submit(txt2img())
    while job not in group.fake.holding:
        await asyncio.sleep(0.01)
    await backend.cancel("not-mine")
    assert group.fake.interrupted == []
    await backend.cancel(job)
    events = await collect(backend, {job})  # type: ignore[arg-type]
    assert group.fake.interrupted == [job]
    assert [e for e in events if isinstance(e, (Finished, Failed, Interrupted))] == [
        Interrupted(job)
    ]


def test_config_repr_never_shows_the_key() -> None:
    assert "s3cret-salad" not in repr(SaladConfig("https://x.salad.cloud", api_key="s3cret-salad"))


async def test_a_model_by_link_lands_on_the_replica_that_took_it(
    group: Group, backend: SaladComfyApi
) -> None:
    url = "https://huggingface.co/someone/styles/resolve/main/ink-style.safetensors"
    path = await backend.add_model(url, "loras")
    assert path == "/opt/ComfyUI/models/loras/ink-style.safetensors"
    ((replica, sent_url, folder, name),) = group.fake.downloads
    assert (sent_url, folder, name) == (url, "loras", "ink-style.safetensors")
    # The list the backend now reads is that replica's (the group's others lack it).
    holders = [r.name for r in group.fake.replicas
               if "ink-style.safetensors" in r.comfy.object_info["LoraLoader"]["input"]["required"]["lora_name"][0]]  # fmt: skip
    assert holders == [replica]
    with pytest.raises(UserError, match="not a model folder comfyui-api knows"):
        await backend.add_model(url, "styles")
    group.fake.faults.append("cut")
    with pytest.raises(UserError, match="longer than Salad's gateway waits"):
        await backend.add_model(url + "?v=2", "loras", "big.safetensors")
    with pytest.raises(UserError, match="refused the download"):
        await backend.add_model("ftp://nowhere/x.safetensors", "loras")
