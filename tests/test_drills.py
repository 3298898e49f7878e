"""Fault drills (loopback, bounded): many jobs through random socket drops and a server restart,
and a fuzzer feeding malformed protocol data to the client."""

from __future__ import annotations

import asyncio
import json
import struct
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_diffusion.comfy import ComfyClient, ServerConfig, answers
from ai_diffusion.comfy.errors import ConnectionFailure, ServerRejected
from ai_diffusion.comfy.events import Failed, Finished, Interrupted, JobEvent
from ai_diffusion.comfy.jobs import JobTracker
from ai_diffusion.comfy.messages import Message, parse_binary, parse_text
from ai_diffusion.comfy.models import DeviceInfo, ServerModels
from ai_diffusion.comfy.rejection import rejection
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from ai_diffusion.workflow import build_workflow
from tests.comfy_fixtures import CHECKPOINT, start_server
from tests.fakes.comfy_server import FakeComfy

JOBS = 100


async def test_hundred_jobs_with_drops_and_a_restart_deliver_exactly_once() -> None:
    fake = FakeComfy.create()
    fake.faults.drop_chance = 0.15
    fake.faults.seed = 7
    running = await start_server(fake)
    client = await ComfyClient.connect(ServerConfig(running.url))
    client.reconnect_delays = (0.02, 0.05, 0.1, 0.2, 0.4)
    ends: Counter[str] = Counter()
    finished: dict[str, int] = {}
    lost: set[str] = set()
    submitted: list[str] = []

    async def listen() -> None:
        async for event in client.listen():
            if isinstance(event, (Finished, Failed, Interrupted)):
                ends[event.job_id] += 1
                if isinstance(event, Finished):
                    finished[event.job_id] = len(event.images)
                elif isinstance(event, Failed):
                    lost.add(event.job_id)
            if len(submitted) == JOBS and set(submitted) <= set(ends):
                return

    listener = asyncio.create_task(listen())
    try:
        for i in range(JOBS):
            request = GenerationRequest(
                checkpoint=CHECKPOINT, extent=Extent(64, 64), sampling=Sampling(steps=2, seed=i)
            )
            submitted.append(await client.enqueue(build_workflow(request)))
            if i == JOBS // 2:
                await asyncio.sleep(0.05)
                fake.restart()  # queue and history wiped; the client must notice
        await asyncio.wait_for(listener, 90)
    finally:
        listener.cancel()
        await client.close()
        await running.runner.cleanup()
    assert set(ends) == set(submitted)
    assert all(count == 1 for count in ends.values())  # every job ended exactly once
    assert all(n == 1 for n in finished.values())
    assert lost and len(finished) + len(lost) == JOBS  # the restart lost some; all reported
    assert len(finished) >= JOBS // 2


# --- fuzzing ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
message_types = st.sampled_from(
    ["status", "execution_start", "execution_cached", "executing", "progress", "progress_state",
     "executed", "execution_success", "execution_error", "execution_interrupted", "mystery", ""]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_text_frame_parses_or_is_ignored(text: str) -> None:
    message = parse_text(text)
    assert message is None or isinstance(message.data, dict)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 6), st.integers(0, 400))
def test_any_binary_frame_parses_or_is_ignored(tail: bytes, event: int, length: int) -> None:
    for frame in (tail, struct.pack(">II", event, length) + tail):
        preview = parse_binary(frame)
        assert preview is None or isinstance(preview.image, bytes)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(message_types, st.dictionaries(st.text(max_size=12), json_values, max_size=6)),
        max_size=12,
    )
)
def test_job_tracker_survives_any_message_sequence(messages: list[tuple[str, dict]]) -> None:
    events: list[JobEvent] = []

    async def fetch(ref: dict) -> bytes:
        return b"png"

    async def history(job_id: str) -> dict:
        return {}

    async def run() -> None:
        tracker = JobTracker(events.append, fetch, history)
        await tracker.add("job", "9", 0)
        for kind, data in messages:
            data = {**data, "prompt_id": "job"} if len(data) % 2 else data
            await tracker.on_message(Message(kind, data))
        assert len([e for e in events if isinstance(e, (Finished, Failed, Interrupted))]) <= 1

    asyncio.run(asyncio.wait_for(run(), 5))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | json_values.map(json.dumps), st.integers(400, 599))
def test_any_prompt_error_body_becomes_one_clear_sentence(body: str, status: int) -> None:
    error = rejection(body, status)
    assert isinstance(error, ServerRejected) and error.message and "\n" not in error.message


@settings(max_examples=200, deadline=None)
@given(json_values, json_values)
def test_any_system_stats_or_object_info_shape_is_survivable(stats: object, info: object) -> None:
    if isinstance(stats, dict):
        DeviceInfo.from_system_stats(stats)  # informational: any shape gives a DeviceInfo
    try:
        ServerModels.parse(answers.object_info(info, "http://x"), [], {})
    except ConnectionFailure:
        pass  # the painter-worded "answered in a way ComfyUI does not"


async def test_truncated_and_garbage_http_bodies_give_clear_errors() -> None:
    from aiohttp import web

    for body, content_type in (
        ('{"system": {"os": "linux"', "application/json"),
        ("\x00\x01\x02", "application/octet-stream"),
        ("[1, 2, 3]", "application/json"),
    ):
        app = web.Application()
        app.router.add_get(
            "/system_stats", lambda r, b=body, c=content_type: web.Response(text=b, content_type=c)
        )
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            try:
                await asyncio.wait_for(ComfyClient.connect(ServerConfig(f"127.0.0.1:{port}")), 10)
            except ConnectionFailure as e:
                assert "not ComfyUI" in e.message or "not a ComfyUI server" in e.message
            else:
                raise AssertionError("connected to garbage")
        finally:
            await runner.cleanup()


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["error", "node_errors", "x"]),
        json_values
        | st.dictionaries(
            st.text(max_size=4),
            st.dictionaries(
                st.sampled_from(["class_type", "errors"]),
                json_values
                | st.lists(
                    st.dictionaries(
                        st.sampled_from(["type", "extra_info", "message", "details"]), json_values
                    ),
                    max_size=3,
                ),
            ),
            max_size=3,
        ),
    ),
    st.integers(400, 599),
)
def test_any_node_errors_shape_becomes_one_clear_sentence(body: dict, status: int) -> None:
    error = rejection(json.dumps(body), status)
    assert error.message and "\n" not in error.message
