"""The fake keeps websockets as ComfyUI 0.8.0 does (one per client id, flags per connection,
the late cleanup that silences a new socket), and the client survives what that does."""

from __future__ import annotations

import asyncio
import json
import struct

import aiohttp

from ai_diffusion.comfy import ComfyClient
from ai_diffusion.comfy.events import ConnectionState, Finished, Progress
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from tests.comfy_fixtures import CHECKPOINT, RunningServer, collect


def job(seed: int = 1, steps: int = 6) -> GenerationRequest:
    return GenerationRequest(
        checkpoint=CHECKPOINT, extent=Extent(64, 64), sampling=Sampling(steps=steps, seed=seed)
    )


async def test_a_socket_silenced_by_the_old_connections_cleanup_still_gets_its_result(
    client: ComfyClient, server: RunningServer
) -> None:
    """The client reconnects before the server noticed the drop; the old handler's cleanup
    then unregisters the new socket: no event for this job ever arrives again."""
    server.fake.sockets.late_cleanup = True
    server.fake.faults.drop_ws_at_steps = (2,)
    client.quiet_poll = 0.2
    first = await client.submit(job(1))
    events = await collect(client, {first})
    assert any(isinstance(e, ConnectionState) and e.state == "connected" for e in events)
    assert client.client_id not in server.fake.sockets.ids()  # really silenced
    finished = [e for e in events if isinstance(e, Finished)]
    assert len(finished) == 1 and len(finished[0].images) == 1
    # Jobs after it finish too, while the socket stays silent.
    server.fake.faults.drop_ws_at_steps = ()
    second = await client.submit(job(2))
    events = await collect(client, {second})
    assert [type(e) for e in events if isinstance(e, Finished)] == [Finished]
    # With no job open the polling stops (it starts again with the next job).
    assert client._watch is not None
    await asyncio.wait_for(client._watch, 10)


async def test_one_socket_per_client_id_the_newest_wins(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as session:
        url = server.url + "/ws?clientId=painter-1"
        async with session.ws_connect(url) as old, session.ws_connect(url) as new:
            for ws in (old, new):
                assert (await ws.receive_json(timeout=5))["type"] == "status"
            await server.fake.send("painter-1", "progress", {"value": 1, "max": 2})
            assert (await new.receive_json(timeout=5))["type"] == "progress"
            await server.fake.broadcast_status()
            assert (await new.receive_json(timeout=5))["type"] == "status"
            # The replaced socket is open but hears nothing more, not even status.
            assert old.closed is False
            try:
                message = await old.receive(timeout=0.2)
            except asyncio.TimeoutError:
                message = None
            assert message is None


async def test_feature_flags_count_only_first_and_per_connection(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as session:
        url = server.url + "/ws?clientId=painter-2"
        flags = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
        async with session.ws_connect(url) as ws:
            await ws.receive_json(timeout=5)
            await ws.send_str("{}")  # something else first: the flags come too late
            await ws.send_json(flags)
            await server.fake.send_binary("painter-2", "p", "5", b"jpeg")
            frame = await ws.receive_bytes(timeout=5)
            assert struct.unpack(">I", frame[:4])[0] == 1  # no metadata
        async with session.ws_connect(url) as ws:
            await ws.receive_json(timeout=5)
            await ws.send_json(flags)
            assert (await ws.receive_json(timeout=5))["type"] == "feature_flags"
            await server.fake.send_binary("painter-2", "p", "5", b"jpeg")
            frame = await ws.receive_bytes(timeout=5)
            assert struct.unpack(">I", frame[:4])[0] == 4
        async with session.ws_connect(url) as ws:  # a new connection starts without flags
            await ws.receive_json(timeout=5)
            await server.fake.send_binary("painter-2", "p", "5", b"jpeg")
            frame = await ws.receive_bytes(timeout=5)
            assert struct.unpack(">I", frame[:4])[0] == 1


async def test_status_follows_errors_and_interrupts(
    client: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.step_delay = 0.05
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(server.url + "/ws?clientId=watcher") as ws:
            await ws.receive_json(timeout=5)
            running = await client.submit(job(3, steps=30))
            async for event in client.listen():
                if isinstance(event, Progress):
                    break
            await client.cancel(running)
            await collect(client, {running})
            statuses = []
            while True:
                message = json.loads((await ws.receive(timeout=5)).data)
                statuses.append(message["data"]["status"]["exec_info"]["queue_remaining"])
                if statuses[-1] == 0:
                    break
            assert statuses[-1] == 0  # told everyone the queue emptied after the interrupt


async def test_a_poll_the_server_cannot_answer_is_logged_and_changes_nothing(
    client: ComfyClient, server: RunningServer, caplog
) -> None:
    import logging

    await client.jobs.add("7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6", "9", 0)
    server.fake.faults.status = 503
    with caplog.at_level(logging.WARNING, logger="ai_diffusion"):
        await client.reconcile()
    assert "reconcile: " in caplog.text and " unavailable" in caplog.text
    assert client.jobs.outstanding() == ["7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"]
    assert client.events.empty()
