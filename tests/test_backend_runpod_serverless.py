"""RunPod Serverless (worker-comfyui) against a fake job API that follows RunPod's documented job API."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from ai_diffusion.backends.errors import RequestTooLarge
from ai_diffusion.backends.runpod_serverless import (
    RunPodServerless,
    RunPodServerlessConfig,
    endpoint_id_from,
)
from ai_diffusion.backends.worker_images import models_source, worker_image
from ai_diffusion.comfy.errors import ConnectionFailure, FailureKind
from ai_diffusion.comfy.events import (
    ConnectionState,
    Failed,
    Finished,
    Interrupted,
    Queued,
    Started,
)
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from ai_diffusion.workflow.builder import Workflow, build_workflow
from tests.backend_fixtures import Sleeps, serve, txt2img
from tests.comfy_fixtures import CHECKPOINT, collect, png
from tests.fakes.executor import decode_png
from tests.fakes.runpod_serverless import FakeServerless


class Endpoint:
    def __init__(self, fake: FakeServerless, url: str, sleeps: Sleeps) -> None:
        self.fake = fake
        self.url = url
        self.sleeps = sleeps

    def config(self, **changes: object) -> RunPodServerlessConfig:
        config = RunPodServerlessConfig(
            self.fake.endpoint_id,
            api_key=self.fake.api_key,
            api_base=self.url + "/v2",
            models=(CHECKPOINT,),
        )
        return replace(config, **changes)  # type: ignore[arg-type]

    async def connect(self, **changes: object) -> RunPodServerless:
        return await RunPodServerless.connect(self.config(**changes), sleep=self.sleeps)


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    fake = FakeServerless()
    runner, url = await serve(fake.app())
    fake.base_url = url
    yield Endpoint(fake, url, Sleeps())
    await runner.cleanup()


@pytest.fixture
async def backend(endpoint: Endpoint) -> AsyncIterator[RunPodServerless]:
    b = await endpoint.connect()
    yield b
    await b.close()


async def test_cold_endpoint_says_so_then_delivers_real_pixels(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    job = await backend.submit(txt2img(size=64))
    events = await collect(backend, {job})  # type: ignore[arg-type]
    kinds = [type(e) for e in events]
    assert kinds == [Queued, Started, Finished]
    assert "cold start" in events[0].message  # type: ignore[union-attr]
    assert "waited 42 s" in events[1].message  # type: ignore[union-attr]
    pixels = decode_png(events[2].images[0])  # type: ignore[union-attr]
    assert pixels.shape[:2] == (64, 64)
    assert endpoint.fake.auth_headers[-1] == f"Bearer {endpoint.fake.api_key}"
    # The worker keeps no job of ours once billed: the time it ran is known for the cost.
    assert backend.stats[job].execution_ms == 3456


async def test_warm_endpoint_has_no_cold_start_note(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    endpoint.fake.warm_workers = 1
    job = await backend.submit(txt2img())
    events = await collect(backend, {job})  # type: ignore[arg-type]
    assert "cold start" not in events[0].message  # type: ignore[union-attr]
    assert isinstance(events[-1], Finished)


async def test_status_polls_back_off_up_to_the_longest_pause(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    endpoint.fake.queue_polls = 12
    job = await backend.submit(txt2img())
    await collect(backend, {job})  # type: ignore[arg-type]
    delays = backend.config.poll_delays
    polls = endpoint.sleeps.calls
    assert polls == sorted(polls), "pauses never shrink while a job waits"
    assert polls[0] == delays[0] and polls[-1] == delays[-1]
    assert len(polls) == sum(1 for r in endpoint.fake.requests if "/status/" in r[1])


async def test_inputs_travel_as_images_named_like_the_graphs_load_image(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    image = png(64, 64, (10, 200, 30))
    mask = png(64, 64, 255, "L")
    request = GenerationRequest(
        checkpoint=CHECKPOINT, prompt="x", image=image, mask=mask, extent=Extent(64, 64),
        sampling=Sampling(steps=2),
    )  # fmt: skip
    uploads: list[tuple[int, int]] = []
    job = await backend.submit(request, lambda sent, total: uploads.append((sent, total)))
    events = await collect(backend, {job})  # type: ignore[arg-type]
    assert isinstance(events[-1], Finished), events[-1]
    total = uploads[0][1]  # the docker's upload bar: from nothing to the whole body with images
    assert uploads == [(0, total), (total, total)] and total > len(image.data) + len(mask.data)
    sent = endpoint.fake.jobs[job].body
    loaded = {
        n["inputs"]["image"]
        for n in sent["workflow"].values()
        if n["class_type"].startswith("LoadImage")
    }
    assert {i["name"] for i in sent["images"]} == loaded
    assert len(loaded) == 2


def _big_workflow(raw_bytes: int) -> Workflow:
    graph = build_workflow(txt2img()).graph
    return Workflow(graph, {"aid-big.png": os.urandom(raw_bytes)}, "9")


async def test_too_large_job_is_refused_before_sending_with_size_and_limit(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    before = len(endpoint.fake.requests)
    with pytest.raises(RequestTooLarge) as error:
        await backend.run_workflow(_big_workflow(15_500_000))  # ~20.7 MB as base64
    assert len(endpoint.fake.requests) == before, "nothing was sent"
    message = error.value.message
    assert "20.0 MB" in message and "20.7 MB" in message and "smaller selection" in message


async def test_job_over_the_run_limit_goes_through_runsync(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    await backend.run_workflow(_big_workflow(8_000_000))  # ~10.7 MB as base64
    posted = [r for r in endpoint.fake.requests if r[0] == "POST"]
    assert posted[-1][1].endswith("/runsync") and posted[-1][2] > 10_000_000


async def test_wrong_key_is_refused_without_echoing_it(endpoint: Endpoint) -> None:
    with pytest.raises(ConnectionFailure) as error:
        await endpoint.connect(api_key="rp-wrong-key-987654321")
    assert error.value.kind is FailureKind.AUTH
    assert "API key" in error.value.message
    assert "rp-wrong-key" not in error.value.message + error.value.details


async def test_missing_key_says_where_to_get_one(endpoint: Endpoint) -> None:
    with pytest.raises(ConnectionFailure) as error:
        await endpoint.connect(api_key="")
    assert "API Keys" in error.value.message
    assert endpoint.fake.requests == []


async def test_unknown_endpoint_is_named(endpoint: Endpoint) -> None:
    with pytest.raises(ConnectionFailure) as error:
        await endpoint.connect(endpoint_id="nosuchendpoint1")
    assert "nosuchendpoint1" in error.value.message


async def test_rate_limit_is_waited_out_as_told(endpoint: Endpoint) -> None:
    endpoint.fake.rate_limited = 2
    endpoint.fake.retry_after = "3"
    backend = await endpoint.connect()
    await backend.close()
    assert endpoint.sleeps.calls == [3.0, 3.0]


async def test_endless_rate_limit_ends_in_a_sentence(endpoint: Endpoint) -> None:
    endpoint.fake.rate_limited = 100
    with pytest.raises(ConnectionFailure) as error:
        await endpoint.connect()
    assert "too many" in error.value.message


async def test_missing_model_fails_with_the_workers_words(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    job = await backend.submit(replace(txt2img(), checkpoint="not-there.safetensors"))
    events = await collect(backend, {job})  # type: ignore[arg-type]
    assert isinstance(events[-1], Failed)
    assert "Workflow validation failed" in events[-1].message
    assert "not-there.safetensors" in events[-1].message
    assert not events[-1].retryable, "another backend would refuse it just the same"


async def test_worker_gone_fails_with_its_message_and_keeps_the_traceback_out(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    endpoint.fake.next_fate = ["worker_gone"]
    job = await backend.submit(txt2img())
    end = (await collect(backend, {job}))[-1]  # type: ignore[arg-type]
    assert isinstance(end, Failed)
    assert "worker exited unexpectedly" in end.message
    assert "Traceback" not in end.message and "Traceback" in end.details
    assert end.retryable, "a vanished worker is no fault of the job: another backend may run it"


async def test_timed_out_job_says_what_to_change(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    endpoint.fake.next_fate = ["timed_out"]
    job = await backend.submit(txt2img())
    end = (await collect(backend, {job}))[-1]  # type: ignore[arg-type]
    assert isinstance(end, Failed) and "execution timeout" in end.message


async def test_result_gone_before_fetched_is_a_failure_not_silence(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    endpoint.fake.next_fate = ["expired"]
    job = await backend.submit(txt2img())
    end = (await collect(backend, {job}))[-1]  # type: ignore[arg-type]
    assert isinstance(end, Failed) and "30 minutes" in end.message


async def test_cancel_own_job_only(endpoint: Endpoint, backend: RunPodServerless) -> None:
    endpoint.fake.queue_polls = 50
    mine = await backend.submit(txt2img())
    await backend.cancel("somebody-elses-job")
    assert not any("somebody" in r[1] for r in endpoint.fake.requests)
    await backend.cancel(mine)
    events = await collect(backend, {mine})  # type: ignore[arg-type]
    assert [e for e in events if isinstance(e, Interrupted)] == [Interrupted(mine)]
    assert endpoint.fake.jobs[mine].status == "CANCELLED"


async def test_close_stops_following_and_leaves_the_job_on_the_endpoint(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    endpoint.fake.queue_polls = 10**9  # waits for a worker until closed
    job = await backend.submit(txt2img())
    assert isinstance(await anext(backend.listen()), Queued)
    await backend.close()
    polls = len(endpoint.fake.requests)
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(endpoint.fake.requests) == polls  # nothing follows the job any more
    assert endpoint.fake.jobs[job].status == "IN_QUEUE"  # and nothing cancelled it


async def test_bucket_results_are_downloaded_without_the_key(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    endpoint.fake.s3 = True
    job = await backend.submit(txt2img(batch=2))
    end = (await collect(backend, {job}))[-1]  # type: ignore[arg-type]
    assert isinstance(end, Finished) and len(end.images) == 2
    assert decode_png(end.images[1]).shape[:2] == (64, 64)


async def test_status_drop_reports_connection_and_still_delivers(
    endpoint: Endpoint, backend: RunPodServerless, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = backend.http.request
    drops = [True, True]

    async def flaky(method: str, url: str, data: bytes | None = None, **kw: object):  # type: ignore[no-untyped-def]
        if "/status/" in url and drops:
            drops.pop()
            raise backend.http.network_failure(ConnectionResetError("cut"))
        return await real(method, url, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(backend.http, "request", flaky)
    job = await backend.submit(txt2img())
    events = await collect(backend, {job})  # type: ignore[arg-type]
    states = [e.state for e in events if isinstance(e, ConnectionState)]
    assert states == ["reconnecting", "connected"]
    assert sum(isinstance(e, Finished) for e in events) == 1


def test_endpoint_id_from_a_pasted_url() -> None:
    assert endpoint_id_from(" https://api.runpod.ai/v2/4m7x2k9q1abcde/run ") == "4m7x2k9q1abcde"
    assert endpoint_id_from("4m7x2k9q1abcde") == "4m7x2k9q1abcde"
    with pytest.raises(ConnectionFailure):
        endpoint_id_from("not an id!")


def test_model_list_comes_from_image_table_or_own_list_and_says_which() -> None:
    models, source = models_source("runpod/worker-comfyui:5.8.5-sdxl", ())
    assert models.checkpoints == ["sd_xl_base_1.0.safetensors"] and "sdxl" in source
    models, source = models_source("runpod/worker-comfyui:5.8.5-flux1-dev-fp8", ())
    assert models.checkpoints == ["flux1-dev-fp8.safetensors"]
    models, source = models_source("me/my-worker:1", ("mine.safetensors",))
    assert models.checkpoints == ["mine.safetensors"] and "your model list" in source
    models, source = models_source("me/my-worker:1", ())
    assert models.checkpoints == [] and "cannot list" in source
    assert worker_image("me/flux1-dev:latest") is None


def test_config_repr_never_shows_the_key() -> None:
    config = RunPodServerlessConfig("abc123", api_key="rp-secret-key-123456")
    assert "rp-secret-key" not in repr(config)
    assert json.dumps(str(config)).count("rp-secret") == 0


async def test_discovery_job_reads_the_workers_checkpoints(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    models = await backend.discover_models()
    spec = endpoint.fake.comfy.object_info["CheckpointLoaderSimple"]["input"]["required"]
    assert models.checkpoints == spec["ckpt_name"][0] and CHECKPOINT in models.checkpoints
    assert backend.models_from == "a discovery job on the worker"
    assert len(endpoint.fake.jobs) == 1, "one job, once"


async def test_discovery_on_a_worker_that_does_not_list_says_what_to_do(
    endpoint: Endpoint, backend: RunPodServerless
) -> None:
    endpoint.fake.next_fate = ["worker_gone"]
    with pytest.raises(ConnectionFailure) as error:
        await backend.discover_models()
    assert "Enter your checkpoints" in error.value.message


async def test_refresh_asks_the_worker_only_when_nothing_else_knows(endpoint: Endpoint) -> None:
    known = await endpoint.connect(image="runpod/worker-comfyui:5.8.5-sdxl", models=())
    try:
        await known.refresh_models()
        assert known.models.checkpoints == ["sd_xl_base_1.0.safetensors"]
        assert endpoint.fake.jobs == {}
    finally:
        await known.close()
    unknown = await endpoint.connect(image="me/custom:1", models=())
    try:
        assert unknown.models.checkpoints == [] and "cannot list" in unknown.models_from
        await unknown.refresh_models()
        assert CHECKPOINT in unknown.models.checkpoints and len(endpoint.fake.jobs) == 1
    finally:
        await unknown.close()


async def test_cost_is_billed_time_times_the_price(endpoint: Endpoint) -> None:
    backend = await endpoint.connect(price_per_second=1.1 / 3600)
    try:
        first = await backend.submit(txt2img())
        await collect(backend, {first})  # type: ignore[arg-type]
        second = await backend.submit(txt2img(seed=2))
        await collect(backend, {second})  # type: ignore[arg-type]
        assert backend.job_cost(first) == pytest.approx(3.456 * 1.1 / 3600)
        assert backend.session_cost == pytest.approx(2 * 3.456 * 1.1 / 3600)
        assert backend.job_cost("not-ours") == 0.0
    finally:
        await backend.close()
