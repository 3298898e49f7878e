"""Cancel touches only this client's jobs: another client's jobs, pending and running on the
same server, all run to the end (a shared pod, a friend's queue)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Finished, Interrupted, Progress, Queued
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from tests.comfy_fixtures import CHECKPOINT, RunningServer, collect


def job(seed: int, steps: int = 4) -> GenerationRequest:
    return GenerationRequest(
        checkpoint=CHECKPOINT, extent=Extent(64, 64), sampling=Sampling(steps=steps, seed=seed)
    )


@pytest.fixture
async def other(server: RunningServer) -> AsyncIterator[ComfyClient]:
    """Someone else's plugin on the same server."""
    c = await ComfyClient.connect(ServerConfig(server.url))
    yield c
    await c.close()


async def wait_running(server: RunningServer, job_id: str) -> None:
    for _ in range(500):
        if server.fake.running and server.fake.running.prompt_id == job_id:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{job_id} never started")


async def test_cancelling_own_pending_jobs_leaves_theirs_running_and_queued(
    client: ComfyClient, other: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.step_delay = 0.05
    theirs_running = await other.submit(job(1))
    await wait_running(server, theirs_running)
    mine = [await client.submit(job(2))]
    theirs_pending = await other.submit(job(3))
    mine.append(await client.submit(job(4)))
    for job_id in mine:  # like the docker's Cancel: every job of this client
        await client.cancel(job_id)
    ours = await collect(client, set(mine))
    assert {e.job_id for e in ours if isinstance(e, Interrupted)} == set(mine)
    # Each was told how many jobs were ahead of it, theirs included.
    assert {e.job_id: e.position for e in ours if isinstance(e, Queued)} == {mine[0]: 1, mine[1]: 3}
    server.fake.faults.step_delay = 0
    their_events = await collect(other, {theirs_running, theirs_pending})
    finished = {e.job_id for e in their_events if isinstance(e, Finished)}
    assert finished == {theirs_running, theirs_pending}


async def test_cancelling_own_running_job_leaves_their_queued_jobs(
    client: ComfyClient, other: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.step_delay = 0.05
    mine = await client.submit(job(1, steps=20))
    theirs = [await other.submit(job(5)), await other.submit(job(6))]
    async for event in client.listen():
        if isinstance(event, Progress):
            break
    await client.cancel_all()
    ours = await collect(client, {mine})
    assert isinstance(ours[-1], Interrupted)
    their_events = await collect(other, set(theirs))
    assert {e.job_id for e in their_events if isinstance(e, Finished)} == set(theirs)
    # Always named: never "whatever runs" (/interrupt without an id), never the whole queue.
    if server.fake.behaviour.cancel_api:
        assert server.fake.cancels == [mine] and server.fake.interrupts == []
    else:
        assert server.fake.interrupts == [mine]


async def test_a_cancel_that_arrives_as_their_job_starts_does_not_stop_it(
    client: ComfyClient, other: ComfyClient, server: RunningServer
) -> None:
    """The queue the client read is stale by the time its interrupt arrives: its own job
    has just ended and another client's job runs. Only an interrupt naming the job is safe.
    (Servers with the jobs API's cancel have no such gap: they look and act at once.)"""
    server.fake.faults.step_delay = 0.05
    mine = await client.submit(job(1, steps=20))
    await wait_running(server, mine)
    theirs = await other.submit(job(7, steps=6))
    server.fake.faults.stale_queue = True
    await client.cancel(mine)
    their_events = await collect(other, {theirs})
    assert isinstance(their_events[-1], Finished)
    ours = await collect(client, {mine})
    if server.fake.behaviour.cancel_api:
        assert isinstance(ours[-1], Interrupted) and server.fake.cancels == [mine]
    else:
        assert isinstance(ours[-1], Finished)  # too late to cancel: its images are kept


async def test_a_job_queued_just_as_the_painter_cancels_is_taken_off_too(
    client: ComfyClient, other: ComfyClient, server: RunningServer
) -> None:
    """Ctrl-C after the server took the job but before its answer arrived."""
    server.fake.faults.step_delay = 0.05
    theirs = await other.submit(job(8))
    await wait_running(server, theirs)
    server.fake.faults.prompt_answer_delay = 5
    submitting = asyncio.create_task(client.submit(job(9)))
    while not any(j.client_id == client.client_id for j in server.fake.pending):
        await asyncio.sleep(0.01)
    submitting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await submitting
    await client.cancel_all()
    assert not [j for j in server.fake.pending if j.client_id == client.client_id]
    server.fake.faults.step_delay = 0
    their_events = await collect(other, {theirs})
    assert isinstance(their_events[-1], Finished)
    assert all(
        e["prompt"][3]["client_id"] != client.client_id for e in server.fake.history.values()
    )


async def test_cancelling_a_job_that_already_left_the_queue_claims_nothing(
    client: ComfyClient, server: RunningServer
) -> None:
    """Its end (a result, or a failure) is still to come from the server: a cancel that found
    nothing to stop must not report it cancelled, nor forget it."""
    await client.jobs.add("0b6f2c84-9d4e-4a57-8c1e-2f4b7a9d3e10", "9", 0)
    await client.cancel("0b6f2c84-9d4e-4a57-8c1e-2f4b7a9d3e10")
    assert client.events.empty()
    assert client.jobs.outstanding() == ["0b6f2c84-9d4e-4a57-8c1e-2f4b7a9d3e10"]
