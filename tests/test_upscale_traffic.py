"""A tiled upscale moves its pictures and little else. ComfyUI sends, at every start, step and
end of any node, the state of every node started so far (``progress_state``): for a graph of
many tiles that grows with the square of its size and outweighs the picture. Such jobs are
queued detached (under a client id no socket uses) and followed by asking the server."""

from __future__ import annotations

import asyncio
import dataclasses

from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Finished, Progress, Started
from ai_diffusion.request import GenerationRequest, Image, Sampling, UpscaleRef
from ai_diffusion.workflow import build_workflow
from tests.comfy_fixtures import CHECKPOINT, RunningServer
from tests.fakes.executor import encode_png

UPSCALER = "random-compact-4x.safetensors"


def tiled_request() -> GenerationRequest:
    import numpy as np

    picture = np.random.default_rng(1).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    return GenerationRequest(
        checkpoint=CHECKPOINT,
        prompt="a painting",
        sampling=Sampling(steps=4, seed=1),
        image=Image.from_png(encode_png(picture)),
        upscale=UpscaleRef(UPSCALER, factor=2.0, refine=0.4, tile_size=96, tile_overlap=32),
    )


async def run(server: RunningServer, detached: bool) -> tuple[int, int, list[object]]:
    """Bytes received beyond the result, bytes sent beyond the source, and the events."""
    client = await ComfyClient.connect(ServerConfig(server.url))
    client.detached_poll = 0.2
    try:
        request = tiled_request()
        workflow = build_workflow(request, client.models.object_info, client.models.version)
        assert workflow.detached and len(workflow.parts) >= 6
        if not detached:  # the same graph, followed over the socket
            workflow = dataclasses.replace(workflow, parts=())
        client.traffic.sent = client.traffic.received = 0
        job = await client.enqueue(workflow)
        events: list[object] = []
        async with asyncio.timeout(30):
            async for event in client.listen():
                events.append(event)
                if isinstance(event, Finished) and event.job_id == job:
                    break
        (result,) = events[-1].images  # type: ignore[attr-defined]
        assert request.image is not None
        return (
            client.traffic.received - len(result),
            client.traffic.sent - len(request.image.data),
            events,
        )
    finally:
        await client.close()


async def test_a_tiled_upscale_receives_its_picture_and_little_else(server) -> None:
    extra_received, extra_sent, events = await run(server, detached=True)
    attached_received, _, attached_events = await run(server, detached=False)
    # Detached: a few small answers about the job beside the picture.
    assert extra_received < 40_000, extra_received
    assert extra_sent < 40_000, extra_sent  # the graph itself
    # Followed over the socket, the same job costs many times that (the server's node states).
    assert attached_received > 10 * extra_received, (attached_received, extra_received)
    # The painter is told what runs; no step messages come for it.
    started = [e for e in events if isinstance(e, Started)]
    assert started and "Refining" in started[0].message and "tiles" in started[0].message
    assert not any(isinstance(e, Progress) for e in events)
    assert any(isinstance(e, Progress) for e in attached_events)
