"""Bad inputs on the job-API backends and pools: each produces its own message through the
real code path, and docs/troubleshooting.md explains every one (like test_error_catalog)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

from aiohttp import web

from ai_diffusion.backends.runpod_serverless import RunPodServerless, RunPodServerlessConfig
from ai_diffusion.backends.salad import SaladComfyApi, SaladConfig
from ai_diffusion.backends.select import PoolConfig, connect_backend
from ai_diffusion.comfy import ServerConfig
from ai_diffusion.comfy.events import ConnectionState, Failed
from ai_diffusion.errors import UserError
from ai_diffusion.workflow.builder import Workflow, build_workflow
from tests.backend_fixtures import Sleeps, serve, txt2img
from tests.comfy_fixtures import CHECKPOINT, collect, start_server
from tests.error_catalog import Catalog
from tests.fakes.runpod_serverless import FakeServerless
from tests.fakes.salad_server import FakeSaladGroup

CATALOG = Catalog()
case = CATALOG.case
Backend = TypeVar("Backend", RunPodServerless, SaladComfyApi)


async def _message(
    app: web.Application,
    connect: Callable[[str], Awaitable[Backend]],
    act: Callable[[Backend], Awaitable[str]] | None,
) -> str:
    """The message of connecting to ``app`` (served here at the URL ``connect`` gets), or, once
    connected, the one ``act`` meets."""
    runner, url = await serve(app)
    try:
        try:
            backend = await connect(url)
        except UserError as e:
            return e.message
        try:
            assert act is not None, "connected"
            return await act(backend)
        finally:
            await backend.close()
    finally:
        await runner.cleanup()


async def _runpod(
    configure: Callable[[FakeServerless], None],
    act: Callable[[RunPodServerless], Awaitable[str]] | None = None,
    **changes: object,
) -> str:
    fake = FakeServerless()
    configure(fake)

    def connect(url: str) -> Awaitable[RunPodServerless]:
        config = RunPodServerlessConfig(
            fake.endpoint_id, api_key=fake.api_key, api_base=url + "/v2", models=(CHECKPOINT,)
        )
        return RunPodServerless.connect(replace(config, **changes), sleep=Sleeps())  # type: ignore[arg-type]

    return await _message(fake.app(), connect, act)


async def _job_failure(backend: RunPodServerless | SaladComfyApi, request=None) -> str:  # type: ignore[no-untyped-def]
    try:
        job = await backend.submit(request or txt2img())
    except UserError as e:
        return e.message
    end = (await collect(backend, {job}))[-1]  # type: ignore[arg-type]
    assert isinstance(end, Failed), end
    return end.message


async def _salad(
    configure: Callable[[FakeSaladGroup], None],
    act: Callable[[SaladComfyApi], Awaitable[str]] | None = None,
    **changes: object,
) -> str:
    fake = FakeSaladGroup()
    configure(fake)

    def connect(url: str) -> Awaitable[SaladComfyApi]:
        config = replace(SaladConfig(url, api_key=fake.api_key or ""), **changes)  # type: ignore[arg-type]
        return SaladComfyApi.connect(config, sleep=Sleeps())

    return await _message(fake.app(), connect, act)


def _nothing(_: object) -> None:
    return None


@case("it needs access to Serverless")
async def runpod_wrong_key() -> str:
    return await _runpod(_nothing, api_key="rp-not-it-123456")


@case("has no serverless endpoint")
async def runpod_unknown_endpoint() -> str:
    return await _runpod(_nothing, endpoint_id="nosuchendpoint")


@case("per job (the images travel inside the request)")
async def runpod_too_large() -> str:
    async def act(backend: RunPodServerless) -> str:
        graph = build_workflow(txt2img()).graph
        try:
            await backend.run_workflow(Workflow(graph, {"x.png": os.urandom(16_000_000)}, "9"))
        except UserError as e:
            return e.message
        raise AssertionError("sent")

    return await _runpod(_nothing, act)


@case("The serverless worker could not run the job")
async def runpod_missing_model() -> str:
    async def act(backend: RunPodServerless) -> str:
        return await _job_failure(backend, replace(txt2img(), checkpoint="gone.safetensors"))

    return await _runpod(_nothing, act)


@case("execution timeout")
async def runpod_timed_out() -> str:
    return await _runpod(lambda f: setattr(f, "next_fate", ["timed_out"]), _job_failure)


@case("results are kept 30 minutes")
async def runpod_expired() -> str:
    return await _runpod(lambda f: setattr(f, "next_fate", ["expired"]), _job_failure)


@case("did not list its models")
async def runpod_discovery_failed() -> str:
    async def act(backend: RunPodServerless) -> str:
        try:
            await backend.discover_models()
        except UserError as e:
            return e.message
        raise AssertionError("listed")

    return await _runpod(lambda f: setattr(f, "next_fate", ["worker_gone"]), act)


@case("the group's gateway has authentication on")
async def salad_no_key() -> str:
    return await _salad(_nothing, api_key="")


@case("refused the Salad API key")
async def salad_wrong_key() -> str:
    return await _salad(_nothing, api_key="salad-wrong-1234567")


@case("has no ready replica yet")
async def salad_not_ready() -> str:
    def configure(fake: FakeSaladGroup) -> None:
        for replica in fake.replicas:
            replica.ready = False

    return await _salad(configure)


@case("it is not a comfyui-api server")
async def salad_wrong_server() -> str:
    running = await start_server()
    try:
        await SaladComfyApi.connect(SaladConfig(running.url))
    except UserError as e:
        return e.message
    finally:
        await running.runner.cleanup()
    raise AssertionError("connected")


@case("100 seconds Salad's gateway allows")
async def salad_cut() -> str:
    return await _salad(lambda f: setattr(f, "faults", ["cut"]), _job_failure)


@case("went away and no other finished it")
async def salad_vanished_twice() -> str:
    return await _salad(lambda f: setattr(f, "faults", ["vanish_status"] * 2), _job_failure)


@case("Not used:")
async def pool_one_server_unreachable() -> str:
    running = await start_server()
    try:
        dead = ServerConfig("http://127.0.0.1:9")  # nothing listens on the discard port
        pool = await connect_backend(PoolConfig((ServerConfig(running.url), dead)))
        try:
            async for event in pool.listen():
                assert isinstance(event, ConnectionState)
                return event.message
        finally:
            await pool.close()
    finally:
        await running.runner.cleanup()
    raise AssertionError("no message")


# Registered last: they run every case above.
test_each_bad_input_gets_its_message = CATALOG.message_test()
test_troubleshooting_page_explains_each_message = CATALOG.docs_test()
