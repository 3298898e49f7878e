"""The client against the fake ComfyUI: discovery, jobs, events, previews, cancel, nothing lost."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image as PILImage

from ai_diffusion.comfy import ComfyClient, ServerConfig, ServerRejected
from ai_diffusion.comfy.events import (
    ConnectionState,
    Failed,
    Finished,
    Interrupted,
    Preview,
    Progress,
    Queued,
    Started,
)
from ai_diffusion.errors import UserError
from ai_diffusion.request import GenerationRequest, Sampling
from ai_diffusion.workflow import build_workflow
from tests.backend_fixtures import txt2img
from tests.comfy_fixtures import CHECKPOINT, RunningServer, collect, png


async def test_discovers_models_device_and_version(
    client: ComfyClient, server: RunningServer
) -> None:
    m = client.models
    assert CHECKPOINT in m.checkpoints
    assert "random-sd15-lora.safetensors" in m.loras
    assert m.controlnets and m.upscalers and "euler" in m.samplers and "normal" in m.schedulers
    assert m.embeddings == ["random-embedding"]
    assert m.device.comfyui_version == server.fake.version  # 0.8.0 or 0.33.0
    expected = {"0.8.0": (False, (0, 8, 0)), "0.33.0": (True, (0, 33, 0))}[server.fake.version]
    assert (client.api.cancel, client.api.version) == expected and client.api.jobs
    assert m.device.name


async def test_txt2img_events_in_order_with_previews(client: ComfyClient) -> None:
    workflow = build_workflow(txt2img(batch=2), client.models.object_info)
    job = await client.enqueue(workflow)
    events = await collect(client, {job})
    kinds = [type(e) for e in events]
    assert kinds[0] is Queued and kinds[1] is Started and kinds[-1] is Finished
    steps = [(e.step, e.total) for e in events if isinstance(e, Progress)]
    assert steps == [(1, 3), (2, 3), (3, 3)]
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) == 3 and previews[0].image.startswith(b"\xff\xd8")  # JPEG
    finished = events[-1]
    assert isinstance(finished, Finished) and len(finished.images) == 2
    sizes = {PILImage.open(io.BytesIO(i)).size for i in finished.images}
    assert sizes == {(64, 64)}
    assert finished.images[0] != finished.images[1]  # each seed of the batch differs


async def test_uploads_are_deduplicated_within_a_connection(
    client: ComfyClient, server: RunningServer
) -> None:
    image = png(64, 64)
    request = GenerationRequest(
        checkpoint=CHECKPOINT, image=image, strength=0.5, sampling=Sampling(steps=1)
    )
    progress: list[tuple[int, int]] = []
    for seed in (1, 2):
        workflow = build_workflow(
            GenerationRequest(**{**request.__dict__, "sampling": Sampling(steps=1, seed=seed)}),
            client.models.object_info,
        )
        job = await client.enqueue(workflow, on_upload=lambda s, t: progress.append((s, t)))
        await collect(client, {job})
    assert server.fake.uploads == 1
    assert progress[-1] == (len(image.data), len(image.data))


async def test_inputs_sent_ahead_are_not_sent_again(
    client: ComfyClient, server: RunningServer
) -> None:
    """``prepare`` uploads a request's images; submitting it (even while that upload is still
    under way) posts only the job. A failed upload is forgotten, so the next one tries again."""
    request = GenerationRequest(
        checkpoint=CHECKPOINT, image=png(64, 64), strength=0.5, sampling=Sampling(steps=1)
    )
    ahead = asyncio.ensure_future(client.prepare(request))
    job = await client.submit(request)  # the upload may still be in flight
    await ahead
    await collect(client, {job})
    assert server.fake.uploads == 1

    other = GenerationRequest(**{**request.__dict__, "image": png(64, 64, (1, 2, 3))})
    server.fake.faults.status = 500
    with pytest.raises(UserError):
        await client.prepare(other)
    server.fake.faults.status = None
    job = await client.submit(other)
    await collect(client, {job})
    assert server.fake.uploads == 2


async def test_missing_model_is_a_sentence_naming_it(client: ComfyClient) -> None:
    workflow = build_workflow(txt2img())
    workflow.graph["1"]["inputs"]["ckpt_name"] = "nope.safetensors"
    with pytest.raises(ServerRejected) as error:
        await client.enqueue(workflow)
    assert "no model named 'nope.safetensors'" in error.value.message


async def test_unknown_node_is_named(client: ComfyClient) -> None:
    workflow = build_workflow(txt2img())
    workflow.graph["1"]["class_type"] = "FancyCustomLoader"
    with pytest.raises(ServerRejected) as error:
        await client.enqueue(workflow)
    assert "no node 'FancyCustomLoader'" in error.value.message


async def test_runtime_error_becomes_failed_event(
    client: ComfyClient, server: RunningServer
) -> None:
    workflow = build_workflow(txt2img())
    workflow.graph["2"]["class_type"] = "CLIPTextEncodeSDXL"  # exists, but the executor lacks it
    workflow.graph["2"]["inputs"] = {
        **workflow.graph["2"]["inputs"],
        "width": 64, "height": 64, "crop_w": 0, "crop_h": 0, "target_width": 64,
        "target_height": 64, "text_g": "a", "text_l": "a",
    }  # fmt: skip
    job = await client.enqueue(workflow)
    events = await collect(client, {job})
    failed = events[-1]
    assert isinstance(failed, Failed) and "CLIPTextEncodeSDXL" in failed.message


async def test_cancel_interrupts_only_own_running_job(
    client: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.step_delay = 0.2
    job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
    other = await ComfyClient.connect(ServerConfig(server.url))
    try:
        theirs = await other.enqueue(build_workflow(txt2img(seed=9), other.models.object_info))
        async for event in client.listen():
            if isinstance(event, Progress):
                break
        await client.cancel(job)
        events = await collect(client, {job})
        assert isinstance(events[-1], Interrupted)
        # The other client's queued job still runs to the end.
        server.fake.faults.step_delay = 0
        their_events = await collect(other, {theirs})
        assert isinstance(their_events[-1], Finished)
    finally:
        await other.close()


async def test_cancel_removes_own_pending_job_only(
    client: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.step_delay = 0.2
    first = await client.enqueue(build_workflow(txt2img(seed=1), client.models.object_info))
    second = await client.enqueue(build_workflow(txt2img(seed=2), client.models.object_info))
    await client.cancel(second)
    pending = [j.prompt_id for j in server.fake.pending]
    assert second not in pending
    server.fake.faults.step_delay = 0
    events = await collect(client, {first, second})
    ends = {e.job_id: type(e) for e in events if isinstance(e, (Finished, Interrupted))}
    assert ends == {first: Finished, second: Interrupted}


async def test_dropped_socket_reconnects_and_delivers_once(
    client: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.drop_ws_after_steps = 1
    job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
    events = await collect(client, {job})
    states = [e.state for e in events if isinstance(e, ConnectionState)]
    assert "reconnecting" in states and "connected" in states
    finished = [e for e in events if isinstance(e, Finished)]
    assert len(finished) == 1 and len(finished[0].images) == 1
    # Nothing more arrives for that job later.
    await asyncio.sleep(0.3)
    assert client.events.empty()


async def test_server_restart_mid_job_reports_the_job_lost(
    client: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.step_delay = 0.3
    job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
    async for event in client.listen():
        if isinstance(event, Progress):
            break
    server.fake.worker.cancel()  # the process dies mid-job …
    server.fake.restart()  # … and comes back with an empty queue and history
    events = await collect(client, {job})
    assert isinstance(events[-1], Failed)
    assert "lost this job" in events[-1].message


async def test_malformed_and_unknown_messages_are_ignored(
    client: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.malformed_frames = True
    job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
    events = await collect(client, {job})
    assert isinstance(events[-1], Finished)


async def test_no_origin_header_is_sent(server: RunningServer) -> None:
    # The fake enforces ComfyUI's Origin rule (403 on mismatch); connecting proves none is sent,
    # including on the websocket handshake.
    c = await ComfyClient.connect(ServerConfig(f"localhost:{server.port}"))
    await c.close()
