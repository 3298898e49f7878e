"""The client follows the server's version: ComfyUI's jobs API where the server has it
(``GET /api/jobs/{id}`` to settle jobs after a reconnect, ``POST /api/jobs/{id}/cancel`` to stop
one), the older routes elsewhere, and the older routes again when a route is missing after all
(a proxy in front, a fork that reports another version)."""

from __future__ import annotations

import asyncio

import pytest

from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Finished, Interrupted
from ai_diffusion.comfy.server_api import ServerApi, parse_version
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from tests.captures import VERSIONS, capture
from tests.comfy_fixtures import CHECKPOINT, RunningServer, collect, start_server
from tests.fakes.comfy_server import FakeComfy


def job(seed: int, steps: int = 6) -> GenerationRequest:
    return GenerationRequest(
        checkpoint=CHECKPOINT, extent=Extent(64, 64), sampling=Sampling(steps=steps, seed=seed)
    )


@pytest.mark.parametrize(
    ("text", "version"),
    [("0.33.0", (0, 33, 0)), ("v0.26.1-3-gabc", (0, 26, 1)), ("0.8", (0, 8, 0)), ("", None),
     ("nightly", None)],
)  # fmt: skip
def test_versions_are_read_from_what_the_server_reports(
    text: str, version: tuple[int, ...] | None
) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize(
    ("version", "jobs", "cancel"),
    [("0.5.1", False, False), ("0.6.0", True, False), ("0.25.9", True, False),
     ("0.26.0", True, True), ("0.33.0", True, True)],
)  # fmt: skip
def test_the_jobs_api_is_used_from_the_release_that_has_it(
    version: str, jobs: bool, cancel: bool
) -> None:
    api = ServerApi.from_system_stats({"system": {"comfyui_version": version}})
    assert (api.jobs, api.cancel) == (jobs, cancel)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_recorded_servers_report_what_they_have(version: str) -> None:
    recorded = capture(version).http
    api = ServerApi.from_system_stats(recorded["GET /system_stats"]["body"])
    assert api.jobs == (recorded["GET /api/jobs?limit=2"]["status"] == 200)
    assert api.cancel == (recorded["POST /api/jobs/{id}/cancel (pending)"]["status"] == 200)


def test_a_server_that_hides_its_version_is_asked_the_old_way() -> None:
    api = ServerApi.from_system_stats({"system": {"os": "linux"}})
    assert (api.version, api.jobs, api.cancel) == (None, False, False)


async def _finish_while_away(server: RunningServer, client: ComfyClient, job_id: str) -> None:
    """The socket drops and stays refused until the job has ended on the server."""
    server.fake.faults.refuse_ws = True
    await server.fake.sockets.close_all()
    for _ in range(400):
        if job_id in server.fake.history:
            break
        await asyncio.sleep(0.02)
    server.fake.faults.refuse_ws = False


async def test_a_job_that_ended_while_away_is_settled_through_the_jobs_api(
    client: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.step_delay = 0.02
    job_id = await client.submit(job(1))
    await _finish_while_away(server, client, job_id)
    (finished,) = [e for e in await collect(client, {job_id}) if isinstance(e, Finished)]
    assert len(finished.images) == 1
    assert f"GET /api/jobs/{job_id}" in server.fake.requests
    assert f"GET /history/{job_id}" not in server.fake.requests


async def test_without_a_reported_version_the_history_settles_it() -> None:
    fake = FakeComfy.create()
    del fake.system_stats["system"]["comfyui_version"]
    server = await start_server(fake)
    client = await ComfyClient.connect(ServerConfig(server.url))
    client.reconnect_delays = (0.05, 0.1, 0.2)
    try:
        fake.faults.step_delay = 0.02
        job_id = await client.submit(job(2))
        await _finish_while_away(server, client, job_id)
        (finished,) = [e for e in await collect(client, {job_id}) if isinstance(e, Finished)]
        assert len(finished.images) == 1
        assert f"GET /history/{job_id}" in fake.requests
        assert not any(r.startswith("GET /api/jobs") for r in fake.requests)
    finally:
        await client.close()
        await server.runner.cleanup()


async def test_a_waiting_job_is_cancelled_by_id_and_ends_at_once(
    client: ComfyClient, server: RunningServer
) -> None:
    server.fake.faults.step_delay = 0.05
    running = await client.submit(job(3, steps=20))
    waiting = await client.submit(job(4))
    await client.cancel(waiting)
    events = await collect(client, {waiting})
    assert isinstance(events[-1], Interrupted) and events[-1].job_id == waiting
    assert waiting not in [j.prompt_id for j in server.fake.pending]
    uses_api = server.fake.behaviour.cancel_api
    assert (f"POST /api/jobs/{waiting}/cancel" in server.fake.requests) == uses_api
    assert ("POST /queue" in server.fake.requests) == (not uses_api)
    await client.cancel(running)
    assert isinstance((await collect(client, {running}))[-1], Interrupted)


async def test_a_cancel_route_missing_behind_a_proxy_falls_back_to_the_old_way() -> None:
    fake = FakeComfy.create(version=VERSIONS[0])  # has no cancel route …
    fake.system_stats["system"]["comfyui_version"] = "0.33.0"  # … but claims a newer release
    server = await start_server(fake)
    client = await ComfyClient.connect(ServerConfig(server.url))
    try:
        assert client.api.cancel
        fake.faults.step_delay = 0.05
        running = await client.submit(job(5, steps=20))
        for _ in range(200):
            if fake.running and fake.running.prompt_id == running:
                break
            await asyncio.sleep(0.01)
        await client.cancel(running)
        assert isinstance((await collect(client, {running}))[-1], Interrupted)
        assert fake.interrupts == [running] and not client.api.cancel
    finally:
        await client.close()
        await server.runner.cleanup()
