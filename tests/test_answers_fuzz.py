"""Fuzzing the client with the keys it really reads.

Every JSON answer the client reads is taken from the recorded real ComfyUI (the newest recording,
tests/data/comfyui/) and mutated by presence and type, key by key, down to
the leaves. Whatever comes back, the client either works or raises its own typed, painter-worded
errors: no other exception class counts as a pass."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType, web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_diffusion.comfy import ComfyClient, ConnectionFailure, ServerConfig, ServerRejected, answers
from ai_diffusion.comfy.events import Failed, Finished, Interrupted, JobEvent
from ai_diffusion.comfy.jobs import JobTracker
from ai_diffusion.comfy.models import DeviceInfo, ServerModels
from ai_diffusion.errors import UserError
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from ai_diffusion.workflow import build_workflow
from ai_diffusion.workflow.object_info import MODEL_LISTS
from tests.captures import capture
from tests.comfy_fixtures import CHECKPOINT, object_info

TYPED = (ConnectionFailure, ServerRejected)
URL = "http://127.0.0.1:8188"


def _captured(key: str) -> Any:
    return capture().http[key]["body"]


SYSTEM_STATS = _captured("GET /system_stats")
EMBEDDINGS = _captured("GET /embeddings")
QUEUE = _captured("GET /queue (running)")
HISTORY = _captured("GET /history/{id}")
UPLOAD = _captured("POST /upload/image")
PROMPT = _captured("POST /prompt")
JOB = _captured("GET /api/jobs/{id} (completed)")  # the jobs API (0.6+; cancel 0.26+)
CANCELLED = _captured("POST /api/jobs/{id}/cancel (pending)")
JOB_ID = PROMPT["prompt_id"]
# The node classes the client and the builder read (model lists, txt2img nodes).
CLASSES = {cls for cls, _ in MODEL_LISTS.values()} | {
    "CLIPTextEncode", "EmptyLatentImage", "VAEDecode", "SaveImage",
}  # fmt: skip
OBJECT_INFO = {k: v for k, v in object_info().items() if k in CLASSES}

other_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with keys dropped, values replaced by other types, and parts kept as captured.
    Keys are never invented: the mutations sit exactly where the client looks."""
    choice = draw(st.integers(0, 9))
    if choice == 0 or depth > 6:
        return draw(other_values) if choice == 0 else value
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            action = draw(st.integers(0, 7))
            if action == 0:
                continue  # key absent
            out[key] = draw(mutated(child, depth + 1)) if action > 1 else draw(other_values)
        return out
    if isinstance(value, list):
        items = value[:8]
        return [draw(mutated(item, depth + 1)) for item in items if draw(st.integers(0, 6))]
    return value


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(mutated(SYSTEM_STATS))
def test_any_system_stats_is_comfyui_or_a_typed_failure(body: Any) -> None:
    try:
        stats = answers.system_stats(body, URL)
    except ConnectionFailure as e:
        assert "not a ComfyUI server" in e.message
        return
    device = DeviceInfo.from_system_stats(stats)
    assert isinstance(device.name, str) and device.vram_gb >= 0


async def test_realistic_system_stats_shapes_end_in_the_typed_failure() -> None:
    """These crashed connect with AttributeError / KeyError before."""
    server = MutatingServer()
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        for body in ({"system": "x", "devices": []}, {"devices": {"a": 1}, "system": {}}):
            server.bodies["GET /system_stats"] = body
            try:
                client = await ComfyClient.connect(ServerConfig(f"127.0.0.1:{port}"))
            except ConnectionFailure as e:
                assert "not a ComfyUI server" in e.message
            else:
                await client.close()
                raise AssertionError(f"{body} accepted")
    finally:
        await runner.cleanup()


@FUZZ
@given(mutated(OBJECT_INFO), mutated(EMBEDDINGS), mutated(SYSTEM_STATS))
def test_any_model_list_gives_models_or_a_typed_failure(info: Any, names: Any, stats: Any) -> None:
    try:
        models = ServerModels.parse(
            answers.object_info(info, URL), answers.embeddings(names, URL), answers.as_dict(stats)
        )
    except ConnectionFailure:
        return
    assert all(isinstance(c, str) for c in models.checkpoints + models.samplers)
    request = GenerationRequest(
        checkpoint=CHECKPOINT, prompt="a fox", extent=Extent(64, 64), sampling=Sampling(steps=2)
    )
    try:
        build_workflow(request, models.object_info)
    except UserError:
        pass  # the server lacks the model or a node: a sentence for the painter


@FUZZ
@given(mutated(PROMPT), mutated(UPLOAD), mutated(QUEUE))
def test_any_prompt_upload_or_queue_answer_reads_or_fails_typed(
    prompt: Any, upload: Any, queue: Any
) -> None:
    for read in (
        lambda: answers.prompt_answer(prompt, URL),
        lambda: answers.upload_answer(upload, URL),
    ):
        try:
            read()
        except ConnectionFailure as e:
            assert "in a way ComfyUI does not" in e.message
    q = answers.queue(queue)
    assert 0 <= q.position(JOB_ID) <= len(q.running) + len(q.pending)


@FUZZ
@given(mutated(HISTORY))
def test_any_history_entry_ends_the_job_exactly_once(history: Any) -> None:
    events: list[JobEvent] = []

    async def fetch(ref: dict) -> bytes:
        return b"png"

    async def run() -> None:
        entry = answers.history_entry(history, JOB_ID)

        async def read_history(job_id: str) -> dict | None:
            return entry

        tracker = JobTracker(events.append, fetch, read_history)
        tracker.fetch_retry_delays = ()
        await tracker.add(JOB_ID, "7", 0)
        if entry is None:
            return
        await tracker.settle_from_history(JOB_ID, entry)
        await tracker.settle_from_history(JOB_ID, entry)

    asyncio.run(run())
    ends = [e for e in events if isinstance(e, (Finished, Failed, Interrupted))]
    assert len(ends) <= 1
    assert all(e.job_id == JOB_ID for e in ends)


# --- the whole client against a server answering mutated bodies ---------------------------


class MutatingServer:
    """Serves the given bodies (mutations of the captures) on ComfyUI's routes."""

    def __init__(self) -> None:
        self.bodies: dict[str, Any] = {}

    def app(self) -> web.Application:
        app = web.Application()
        for path in ("/system_stats", "/object_info", "/embeddings", "/queue", "/history/{id}",
                     "/api/jobs/{id}"):  # fmt: skip
            app.router.add_get(path, self.answer)
        for path in ("/prompt", "/queue", "/interrupt", "/api/jobs/{id}/cancel"):
            app.router.add_post(path, self.answer)
        app.router.add_get("/ws", self.ws)
        return app

    async def answer(self, request: web.Request) -> web.Response:
        key = request.method + " " + (request.match_info.route.resource.canonical or "")  # type: ignore[union-attr]
        return web.json_response(self.bodies.get(key, {}))

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
        return ws


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    mutated(SYSTEM_STATS), mutated(OBJECT_INFO), mutated(EMBEDDINGS), mutated(PROMPT),
    mutated(QUEUE), mutated(HISTORY), mutated(JOB), mutated(CANCELLED),
)  # fmt: skip
def test_connect_generate_cancel_reconcile_raise_only_typed_errors(
    stats: Any, info: Any, names: Any, prompt: Any, queue: Any, history: Any, job: Any,
    cancelled: Any,
) -> None:  # fmt: skip
    server = MutatingServer()
    server.bodies = {
        "GET /system_stats": stats, "GET /object_info": info, "GET /embeddings": names,
        "POST /prompt": prompt, "GET /queue": queue, "GET /history/{id}": history,
        "GET /api/jobs/{id}": job, "POST /api/jobs/{id}/cancel": cancelled,
    }  # fmt: skip

    async def run() -> None:
        runner = web.AppRunner(server.app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        client = None
        try:
            client = await ComfyClient.connect(ServerConfig(f"127.0.0.1:{port}"))
            client.jobs.fetch_retry_delays = ()
            request = GenerationRequest(
                checkpoint=CHECKPOINT, extent=Extent(64, 64), sampling=Sampling(steps=2)
            )
            job = await client.submit(request)
            await client.cancel(job)
            await client.reconcile()
        except TYPED:
            pass
        except UserError:
            pass  # the request does not fit this server's models: also a painter's sentence
        finally:
            if client is not None:
                await client.close()
            await runner.cleanup()

    asyncio.run(asyncio.wait_for(run(), 30))


@settings(max_examples=150, deadline=None)
@given(mutated(JOB))
def test_a_job_of_the_jobs_api_reads_or_fails_in_words(body: Any) -> None:
    try:
        state = answers.job_state(body, URL)
    except ConnectionFailure:
        return
    if state.entry is not None:
        assert answers.outcome(state.entry).state in ("success", "error", "interrupted")
