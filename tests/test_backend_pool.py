"""Several backends at once: placement by expected wait, batch split, re-send on loss, cancel
routed to the owner, merged events; and the drill over two ComfyUI servers and a serverless
endpoint with socket drops and one server killed mid-run."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from ai_diffusion.backends.contract import Backend
from ai_diffusion.backends.pool import BackendPool
from ai_diffusion.backends.runpod_serverless import RunPodServerless, RunPodServerlessConfig
from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import (
    ConnectionState,
    Failed,
    Finished,
    Interrupted,
    Queued,
    Started,
)
from ai_diffusion.request import GenerationRequest
from ai_diffusion.workflow import build_workflow
from tests.backend_fixtures import Sleeps, kill, serve, txt2img
from tests.comfy_fixtures import CHECKPOINT, RunningServer, collect, start_server
from tests.fakes.executor import execute
from tests.fakes.runpod_serverless import FakeServerless


@dataclass
class Servers:
    comfy: list[RunningServer]
    serverless: FakeServerless
    serverless_url: str

    async def clients(self) -> list[ComfyClient]:
        clients = [await ComfyClient.connect(ServerConfig(s.url)) for s in self.comfy]
        for c in clients:
            c.reconnect_delays = (0.02, 0.05, 0.1)
        return clients

    async def endpoint(self) -> RunPodServerless:
        fake = self.serverless
        config = RunPodServerlessConfig(
            fake.endpoint_id, api_key=fake.api_key, api_base=self.serverless_url + "/v2",
            models=(CHECKPOINT,), poll_delays=(0.0,),
        )  # fmt: skip
        return await RunPodServerless.connect(config, sleep=Sleeps())


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    comfy = [await start_server(), await start_server()]
    fake = FakeServerless()
    runner, url = await serve(fake.app())
    fake.base_url = url
    yield Servers(comfy, fake, url)
    for s in comfy:
        await s.runner.cleanup()
    await runner.cleanup()


def expected_pixels(request: GenerationRequest) -> list[bytes]:
    """The images the fake executor makes for ``request`` run on a single server."""
    workflow = build_workflow(request)
    outputs = execute(workflow.graph, workflow.inputs.__getitem__)
    return outputs[workflow.output_node]


async def test_batch_is_split_over_equal_servers_in_batch_order(servers: Servers) -> None:
    a, b = await servers.clients()
    pool = BackendPool([("pod A", a), ("pod B", b)])
    try:
        request = txt2img(seed=10, batch=4)
        job = await pool.submit(request)
        events = await collect(pool, {job})  # type: ignore[arg-type]
        end = events[-1]
        assert isinstance(end, Finished) and len(end.images) == 4
        assert pool.placement(job) == ["pod A", "pod B"]
        assert [len(s.fake.history) for s in servers.comfy] == [1, 1]
        # Parts 0-1 and 2-3 carry seeds 10 and 12: no image repeats, the order is the batch's.
        first = expected_pixels(txt2img(seed=10, batch=2))
        second = expected_pixels(txt2img(seed=12, batch=2))
        assert end.images == first + second
        assert [type(e) for e in events].count(Queued) == 1
        assert [type(e) for e in events].count(Started) == 1
    finally:
        await pool.close()


async def test_job_goes_to_the_shortest_expected_wait(servers: Servers) -> None:
    a, b = await servers.clients()
    pool = BackendPool([("slow pod", a), ("fast pod", b)])
    try:
        pool.members[0].job_seconds = 100.0
        pool.members[1].job_seconds = 10.0
        plan = pool.plan(txt2img(batch=4))
        assert [(m.name, n) for m, n in plan] == [("fast pod", 4)]
        pool.members[1].in_flight = 12  # a long queue on the fast one tips the balance
        plan = pool.plan(txt2img(batch=1))
        assert [(m.name, n) for m, n in plan] == [("slow pod", 1)]
    finally:
        await pool.close()


async def test_cold_start_counts_against_a_serverless_endpoint(servers: Servers) -> None:
    (a, _b), endpoint = await servers.clients(), await servers.endpoint()
    await _b.close()
    pool = BackendPool([("serverless", endpoint), ("pod", a)])
    try:
        for m in pool.members:
            m.job_seconds = 20.0
        assert [m.name for m, _ in pool.plan(txt2img())] == ["pod"]
        endpoint.start_delay_estimate = 0.0  # a warm worker: now it is as good as the pod
        assert [m.name for m, _ in pool.plan(txt2img())] == ["serverless"]
    finally:
        await pool.close()


async def test_job_only_goes_where_its_model_is(servers: Servers) -> None:
    a, b = await servers.clients()
    b.models.checkpoints = ["other-model.safetensors"]
    pool = BackendPool([("pod B", b), ("pod A", a)])
    try:
        assert (
            CHECKPOINT in pool.models.checkpoints
            and "other-model.safetensors" in pool.models.checkpoints
        )
        assert [m.name for m, _ in pool.plan(txt2img(batch=3))] == ["pod A"]
    finally:
        await pool.close()


async def test_lost_worker_job_is_resent_elsewhere_with_same_inputs_and_seed(
    servers: Servers,
) -> None:
    (a, b), endpoint = await servers.clients(), await servers.endpoint()
    await b.close()
    servers.serverless.next_fate = ["worker_gone"]
    endpoint.start_delay_estimate = 0.0
    pool = BackendPool([("serverless", endpoint), ("pod", a)])
    try:
        request = txt2img(seed=99)
        job = await pool.submit(request)
        assert pool.placement(job) == ["serverless"]
        events = await collect(pool, {job})  # type: ignore[arg-type]
        ends = [e for e in events if isinstance(e, (Finished, Failed, Interrupted))]
        assert len(ends) == 1 and isinstance(ends[0], Finished)
        assert ends[0].images == expected_pixels(request)
        assert pool.placement(job) == ["pod"]
    finally:
        await pool.close()


async def test_job_failure_is_not_resent(servers: Servers) -> None:
    (a, b), endpoint = await servers.clients(), await servers.endpoint()
    await b.close()
    endpoint.start_delay_estimate = 0.0
    endpoint.models.checkpoints.append("only-on-the-endpoint.safetensors")
    pool = BackendPool([("serverless", endpoint), ("pod", a)])
    try:
        from dataclasses import replace

        request = replace(txt2img(), checkpoint="only-on-the-endpoint.safetensors")
        job = await pool.submit(request)
        events = await collect(pool, {job})  # type: ignore[arg-type]
        # The worker's ComfyUI lacks the file after all: the job's own fault, not re-sent.
        assert isinstance(events[-1], Failed) and "only-on-the-endpoint" in events[-1].message
        assert servers.comfy[0].fake.posted == []
    finally:
        await pool.close()


async def test_server_refusing_at_submit_sends_the_job_to_another(servers: Servers) -> None:
    a, b = await servers.clients()
    await kill(servers.comfy[0])  # pod A is gone; its client does not know yet
    now = [0.0]
    pool = BackendPool([("pod A", a), ("pod B", b)], clock=lambda: now[0])
    try:
        job = await pool.submit(txt2img())
        assert pool.placement(job) == ["pod B"]
        assert isinstance((await collect(pool, {job}))[-1], Finished)  # type: ignore[arg-type]
        pool.members[0].online = True  # as if its client had not noticed yet
        assert [m.name for m, _ in pool.plan(txt2img())] == ["pod B"], "A gets a pause"
        now[0] = 31.0
        assert "pod A" in [m.name for m, _ in pool.plan(txt2img(batch=2))], "then a new try"
    finally:
        await pool.close()


async def test_cancel_reaches_each_part_on_its_owner_and_nothing_else(servers: Servers) -> None:
    for s in servers.comfy:
        s.fake.faults.step_delay = 0.05
        s.fake.faults.steps_override = 200
    a, b = await servers.clients()
    other = await ComfyClient.connect(ServerConfig(servers.comfy[0].url))
    pool = BackendPool([("pod A", a), ("pod B", b)])
    try:
        theirs = await other.submit(txt2img(seed=5))
        job = await pool.submit(txt2img(batch=2))
        assert pool.placement(job) == ["pod A", "pod B"]
        await pool.cancel(job)
        events = await collect(pool, {job})  # type: ignore[arg-type]
        assert [e for e in events if isinstance(e, (Finished, Failed, Interrupted))] == [
            Interrupted(job)
        ]
        servers.comfy[0].fake.faults.step_delay = 0
        theirs_end = (await collect(other, {theirs}))[-1]
        assert isinstance(theirs_end, Finished), "another painter's job is untouched"
    finally:
        await other.close()
        await pool.close()


JOBS = 100


async def test_drill_hundred_jobs_over_three_backends_one_killed_deliver_exactly_once(
    servers: Servers,
) -> None:
    for i, s in enumerate(servers.comfy):
        s.fake.faults.drop_chance = 0.15
        s.fake.faults.seed = 11 + i
    # Pod B takes its time, so that jobs are on it when it dies (a fast fake could have
    # finished them all by then, and the drill would prove nothing).
    servers.comfy[1].fake.faults.step_delay = 0.05
    servers.serverless.queue_polls = 0
    a, b = await servers.clients()
    endpoint = await servers.endpoint()
    backends: list[tuple[str, Backend]] = [("pod A", a), ("pod B", b), ("serverless", endpoint)]
    pool = BackendPool(backends)
    rng = random.Random(3)
    requests: dict[str, GenerationRequest] = {}
    ends: Counter[str] = Counter()
    results: dict[str, list[bytes]] = {}
    failures: dict[str, str] = {}

    async def listen() -> None:
        async for event in pool.listen():
            if isinstance(event, (Finished, Failed, Interrupted)):
                ends[event.job_id] += 1
                if isinstance(event, Finished):
                    results[event.job_id] = event.images
                elif isinstance(event, Failed):
                    failures[event.job_id] = event.message
            if len(requests) == JOBS and set(requests) <= set(ends):
                return

    listener = asyncio.create_task(listen())
    try:
        for i in range(JOBS):
            request = txt2img(seed=1000 + i, batch=rng.choice((1, 1, 2)))
            job = await pool.submit(request)
            requests[job] = request
            if i == JOBS // 3:
                await kill(servers.comfy[1])  # pod B dies with jobs on it
        await asyncio.wait_for(listener, 120)
    finally:
        listener.cancel()
        await pool.close()
    assert set(ends) == set(requests)
    assert all(n == 1 for n in ends.values()), "every job ended exactly once"
    assert not failures, failures
    assert pool.resends > 0, "the killed pod's jobs were re-sent"
    ran = Counter(name for job in requests for name in pool.placement(job))
    assert set(ran) == {"pod A", "pod B", "serverless"}, ran
    for job, request in requests.items():  # each result is its own job's pixels, in order
        assert results[job] == _expected_parts(request, len(results[job]))


def _expected_parts(request: GenerationRequest, count: int) -> list[bytes]:
    if request.sampling.batch_size == 1 or count != 2:
        return expected_pixels(request)
    from dataclasses import replace

    whole = expected_pixels(request)
    one = replace(request, sampling=replace(request.sampling, batch_size=1))
    two = replace(one, sampling=replace(one.sampling, seed=request.sampling.seed + 1))
    split = expected_pixels(one) + expected_pixels(two)
    return whole if whole == split else split


async def test_one_server_lost_keeps_the_pool_connected_and_says_which(servers: Servers) -> None:
    a, b = await servers.clients()
    pool = BackendPool([("pod A", a), ("pod B", b)])
    try:
        await kill(servers.comfy[0])
        event = await asyncio.wait_for(_next_connection_state(pool), 20)
        assert event.state == "connected" and event.message.startswith("pod A:")
        assert "other servers" in event.message
        assert [m.name for m, _ in pool.plan(txt2img(batch=2))] == ["pod B"]
    finally:
        await pool.close()


async def _next_connection_state(pool: BackendPool) -> ConnectionState:
    async for event in pool.listen():
        if isinstance(event, ConnectionState):
            return event
    raise AssertionError("no event")


async def test_pool_cost_sums_the_parts_on_per_second_backends(servers: Servers) -> None:
    (a, b), endpoint = await servers.clients(), await servers.endpoint()
    await b.close()
    from dataclasses import replace

    endpoint.config = replace(endpoint.config, price_per_second=0.001)
    endpoint.start_delay_estimate = 0.0
    pool = BackendPool([("serverless", endpoint), ("pod", a)])
    try:
        job = await pool.submit(txt2img(batch=2))
        await collect(pool, {job})  # type: ignore[arg-type]
        assert sorted(pool.placement(job)) == ["pod", "serverless"]
        assert pool.job_cost(job) == pytest.approx(3.456 * 0.001)  # the pod's part costs 0 here
        assert pool.session_cost == pytest.approx(3.456 * 0.001)
    finally:
        await pool.close()
