"""A result is delivered exactly once, however many times the connection drops during its job
and after it (a finished job is forgotten, so no later reconnect delivers it again)."""

from __future__ import annotations

from collections import Counter

from ai_diffusion.comfy import ComfyClient
from ai_diffusion.comfy.events import ConnectionState, Failed, Finished, Interrupted, Progress
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from tests.comfy_fixtures import CHECKPOINT, RunningServer, collect


def job(seed: int, steps: int) -> GenerationRequest:
    return GenerationRequest(
        checkpoint=CHECKPOINT, extent=Extent(64, 64), sampling=Sampling(steps=steps, seed=seed)
    )


async def test_three_reconnects_in_one_job_then_two_more_deliver_each_result_once(
    client: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.drop_ws_at_steps = (2, 5, 8)
    first = await client.submit(job(1, steps=10))
    events = await collect(client, {first})
    reconnects = [e for e in events if isinstance(e, ConnectionState) and e.state == "connected"]
    assert len(reconnects) >= 3  # three drops within the one job
    # The job after it drops twice too: each reconnect reconciles the jobs still open.
    server.fake.faults.drop_ws_at_steps = (2, 4)
    second = await client.submit(job(2, steps=6))
    events += await collect(client, {second})
    await client.reconcile()  # and once more, by hand, after both finished
    while not client.events.empty():
        events.append(client.events.get_nowait())
    ends = Counter(e.job_id for e in events if isinstance(e, (Finished, Failed, Interrupted)))
    assert ends == {first: 1, second: 1}
    finished = {e.job_id: e for e in events if isinstance(e, Finished)}
    assert set(finished) == {first, second}
    assert all(len(e.images) == 1 for e in finished.values())
    steps = [e.step for e in events if isinstance(e, Progress) and e.job_id == first]
    assert steps == sorted(steps)  # progress never goes back
