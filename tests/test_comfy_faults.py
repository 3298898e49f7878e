"""Faults the fake ComfyUI injects, and how the client comes through them with nothing lost."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest

from ai_diffusion.comfy import ComfyClient, ConnectionFailure, FailureKind, ServerConfig
from ai_diffusion.comfy.events import (
    ConnectionState,
    Failed,
    Finished,
    JobEvent,
    Preview,
    Progress,
)
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from ai_diffusion.workflow import build_workflow
from tests.comfy_fixtures import CHECKPOINT, RunningServer, collect, start_server


def txt2img(seed: int = 1, steps: int = 3) -> GenerationRequest:
    return GenerationRequest(
        checkpoint=CHECKPOINT, extent=Extent(64, 64), sampling=Sampling(steps=steps, seed=seed)
    )


def ends(events: list[JobEvent]) -> Counter[str]:
    return Counter(type(e).__name__ for e in events if isinstance(e, (Finished, Failed)))


async def _close_sockets(server: RunningServer) -> None:
    for client_id in server.fake.sockets.ids():
        await server.fake.sockets.close(client_id)


async def test_results_made_while_disconnected_arrive_once_when_back(
    client: ComfyClient, server: RunningServer
) -> None:
    client.reconnect_delays = (0.05, 0.1)
    server.fake.faults.step_delay = 0.1
    job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
    server.fake.faults.refuse_ws = True  # the live connection is refused for a while …
    await _close_sockets(server)
    states: list[str] = []
    async for event in client.listen():
        if isinstance(event, ConnectionState):
            states.append(event.state)
            if event.state == "disconnected":
                break
    while job not in server.fake.history:  # … while the job finishes on the server
        await asyncio.sleep(0.05)
    server.fake.faults.refuse_ws = False
    events = await collect(client, {job})
    assert states[0] == "reconnecting" and states[-1] == "disconnected"
    assert any(isinstance(e, ConnectionState) and e.state == "connected" for e in events)
    assert ends(events) == {"Finished": 1}
    finished = events[-1]
    assert isinstance(finished, Finished) and len(finished.images) == 1


async def test_server_down_then_restarted_reports_the_job_lost_once() -> None:
    running = await start_server()
    running.fake.faults.step_delay = 0.2
    client = await ComfyClient.connect(ServerConfig(running.url))
    client.reconnect_delays = (0.05, 0.1)
    try:
        job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
        async for event in client.listen():
            if isinstance(event, Progress):
                break
        running.fake.worker.cancel()  # the server process goes away
        await _close_sockets(running)
        await running.runner.cleanup()
        async for event in client.listen():
            if isinstance(event, ConnectionState) and event.state == "disconnected":
                break
        running = await start_server(port=running.port)  # a new process: empty queue
        events = await collect(client, {job})
        assert ends(events) == {"Failed": 1}
        assert "lost this job" in events[-1].message  # type: ignore[union-attr]
    finally:
        await client.close()
        await running.runner.cleanup()


async def test_results_finished_just_before_a_restart_are_still_downloaded(
    client: ComfyClient, server: RunningServer
) -> None:
    client.reconnect_delays = (0.05, 0.1)
    client.jobs.fetch_retry_delays = (0.01,)
    real_fetch = client.jobs.fetch
    failures = 0

    async def fetch(ref: dict) -> bytes:
        nonlocal failures
        if failures < 2:  # the server goes away as the job ends …
            failures += 1
            server.fake.restart()  # … and comes back without its queue and history
            raise ConnectionFailure(FailureKind.REFUSED, "refused")
        return await real_fetch(ref)

    client.jobs.fetch = fetch
    job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
    events = await collect(client, {job})
    assert ends(events) == {"Finished": 1}  # the files on its disk are still fetched
    assert failures == 2


async def test_download_of_results_is_retried(client: ComfyClient, server: RunningServer) -> None:
    client.jobs.fetch_retry_delays = (0.01, 0.01, 0.01)
    server.fake.faults.view_failures = 2
    job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
    events = await collect(client, {job})
    assert ends(events) == {"Finished": 1}


async def test_results_that_cannot_be_downloaded_say_where_they_are(
    client: ComfyClient, server: RunningServer
) -> None:
    client.jobs.fetch_retry_delays = (0.01,)
    server.fake.faults.view_failures = 10
    job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
    events = await collect(client, {job})
    failed = events[-1]
    assert isinstance(failed, Failed) and "output folder" in failed.message
    assert ends(events) == {"Failed": 1}


@pytest.mark.parametrize("method, previews", [("auto", 3), ("none", 0)])
async def test_previews_come_only_when_asked(
    server: RunningServer, method: str, previews: int
) -> None:
    client = await ComfyClient.connect(ServerConfig(server.url, preview_method=method))
    try:
        job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
        events = await collect(client, {job})
    finally:
        await client.close()
    assert sum(isinstance(e, Preview) for e in events) == previews
    assert [e.step for e in events if isinstance(e, Progress)] == [1, 2, 3]


async def test_slow_server_still_works_within_the_timeout(server: RunningServer) -> None:
    server.fake.faults.delay = 0.2
    client = await ComfyClient.connect(ServerConfig(server.url, request_timeout=5))
    try:
        job = await client.enqueue(build_workflow(txt2img(steps=1), client.models.object_info))
        assert ends(await collect(client, {job})) == {"Finished": 1}
    finally:
        await client.close()


async def test_traffic_is_counted(client: ComfyClient) -> None:
    before = client.traffic.sent
    job = await client.enqueue(build_workflow(txt2img(steps=1), client.models.object_info))
    await collect(client, {job})
    assert client.traffic.sent > before
    assert client.traffic.received > 100_000  # object_info alone is ~500 KB


# The fake itself: answers as the recorded ComfyUI servers do (tests/data/comfyui/).


@pytest.mark.parametrize(
    "origin, status",
    [
        (None, 200),
        ("null", 200),
        ("file://", 200),
        ("http://evil.example.com", 403),
        ("http://localhost:{port}", 403),  # names the same server differently: refused
        ("http://127.0.0.1:{port}", 200),
    ],
)
async def test_fake_applies_comfyuis_origin_rule(
    server: RunningServer, origin: str | None, status: int
) -> None:
    headers = {"Origin": origin.format(port=server.port)} if origin else {}
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/system_stats", headers=headers) as response:
            assert response.status == status


async def test_fake_lists_model_folders(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/models/checkpoints") as response:
            assert CHECKPOINT in await response.json()
        async with session.get(server.url + "/models/controlnet") as response:
            assert await response.json()
        async with session.get(server.url + "/models/bogus") as response:
            assert response.status == 404


async def test_fake_answers_feature_flags_and_tells_everyone_the_queue(
    server: RunningServer, client: ComfyClient
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(server.url + "/ws?clientId=someone-else") as ws:
            first = await ws.receive_json(timeout=5)
            assert first["type"] == "status" and first["data"]["sid"] == "someone-else"
            await ws.send_json({"type": "feature_flags", "data": {}})
            assert (await ws.receive_json(timeout=5))["type"] == "feature_flags"
            await client.enqueue(build_workflow(txt2img(steps=1), client.models.object_info))
            status = await ws.receive_json(timeout=5)
            assert status["type"] == "status"
            assert status["data"]["status"]["exec_info"]["queue_remaining"] >= 1


async def test_a_frame_that_breaks_the_handler_does_not_stop_the_stream(
    client: ComfyClient, server: RunningServer
) -> None:
    real = client.jobs.on_message

    async def on_message(message):  # type: ignore[no-untyped-def]
        if message.type == "execution_cached":
            raise ValueError("unexpected shape")
        await real(message)

    client.jobs.on_message = on_message  # type: ignore[method-assign]
    job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
    events = await collect(client, {job})
    assert ends(events) == {"Finished": 1}
    assert not any(isinstance(e, ConnectionState) for e in events)  # no reconnect needed


async def test_a_reader_that_dies_is_reported_restarted_and_the_job_still_finishes(
    client: ComfyClient, server: RunningServer
) -> None:
    """asyncio can strand or end the websocket reader from outside (a nested event loop in
    Krita did); the client notices, says so, reconnects and settles the job."""
    server.fake.faults.step_delay = 0.1
    job = await client.enqueue(build_workflow(txt2img(steps=6), client.models.object_info))
    first_reader = client._reader
    assert first_reader is not None
    await asyncio.sleep(0.15)
    first_reader.cancel()  # the reader ends without the client being closed
    events = await collect(client, {job})
    restarts = [e for e in events if isinstance(e, ConnectionState) and "restarting" in e.message]
    assert restarts, events
    assert ends(events) == Counter({"Finished": 1})
    assert client._reader is not first_reader and not client._reader.done()
