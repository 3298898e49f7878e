"""The catalog of bad inputs a painter can meet: each produces its own plain-language message
through the real code path, and docs/troubleshooting.md explains every one of them."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from ai_diffusion.cloud import (
    RunPodProvider,
    VastProvider,
    create_pod_with_fallback,
    wait_until_ready,
)
from ai_diffusion.cloud.images import DEFAULT_IMAGE
from ai_diffusion.cloud.models import PodSpec
from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Failed
from ai_diffusion.comfy.jobs import _failure
from ai_diffusion.errors import UserError
from ai_diffusion.request import Extent, GenerationRequest, Sampling
from ai_diffusion.workflow import build_workflow
from tests.comfy_fixtures import CHECKPOINT, RunningServer, collect, object_info, start_server
from tests.error_catalog import Catalog
from tests.fakes.comfy_server import FakeComfy
from tests.fakes.runpod_server import FakeRunPod
from tests.fakes.vast_server import FakeVast

CATALOG = Catalog()
case = CATALOG.case


async def _connect_error(url: str, **options: object) -> str:
    try:
        client = await ComfyClient.connect(ServerConfig(url, **options))  # type: ignore[arg-type]
    except UserError as e:
        return e.message
    await client.close()
    raise AssertionError("connected")


async def _with_fake(configure: Callable[[FakeComfy], None], **options: object) -> str:
    fake = FakeComfy.create()
    configure(fake)
    running = await start_server(fake)
    try:
        return await _connect_error(running.url, **options)
    finally:
        await running.runner.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _serve(
    app: web.Application, context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


# --- addresses and connections ----------------------------------------------------------------


@case("Enter the address of your ComfyUI server")
async def empty_address() -> str:
    return await _connect_error("   ")


@case("is not a server address")
async def not_an_address() -> str:
    return await _connect_error("ftp://files.example.com")


@case("could not be found")
async def unknown_host() -> str:
    return await _connect_error("https://gone-8188.proxy.invalid")


@case("connection refused")
async def nothing_listening() -> str:
    return await _connect_error(f"127.0.0.1:{_free_port()}")


@case("did not answer in time")
async def slow_server() -> str:
    return await _with_fake(lambda f: setattr(f.faults, "delay", 2.0), request_timeout=0.3)


@case("its certificate is not trusted")
async def self_signed_certificate() -> str:
    folder = Path(__import__("tempfile").mkdtemp())
    cert, key = folder / "c.pem", folder / "k.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=x"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    runner, port = await _serve(FakeComfy.create().app(), context)
    try:
        return await _connect_error(f"https://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


@case("refused access")
async def needs_a_token() -> str:
    return await _with_fake(lambda f: setattr(f.faults, "token", "secret-token-1"))


@case("is not reachable yet")
async def proxy_bad_gateway() -> str:
    return await _with_fake(lambda f: setattr(f.faults, "status", 502))


@case("ComfyUI is still starting")
async def pod_html_page() -> str:
    return await _with_fake(lambda f: setattr(f.faults, "html_200", True))


@case("shows a login page")
async def login_page() -> str:
    return await _with_fake(lambda f: setattr(f.faults, "login_page", True))


@case("it is not a ComfyUI server")
async def other_web_server() -> str:
    app = web.Application()
    app.router.add_get("/system_stats", lambda r: web.json_response({"status": "ok"}))
    runner, port = await _serve(app)
    try:
        return await _connect_error(f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


@case("refused the live connection")
async def websocket_blocked() -> str:
    return await _with_fake(lambda f: setattr(f.faults, "refuse_ws", True))


# --- jobs ---------------------------------------------------------------------------------


async def _job_error(
    change: Callable[[dict], None] | None = None,
    fake_setup: Callable[[RunningServer], None] | None = None,
) -> str:
    running = await start_server()
    client = await ComfyClient.connect(ServerConfig(running.url))
    try:
        request = GenerationRequest(
            checkpoint=CHECKPOINT, prompt="x", extent=Extent(64, 64), sampling=Sampling(steps=2)
        )
        workflow = build_workflow(request)
        if change:
            change(workflow.graph)
        if fake_setup:
            fake_setup(running)
        try:
            job = await client.enqueue(workflow)
        except UserError as e:
            return e.message
        events = await collect(client, {job})
        assert isinstance(events[-1], Failed)
        return events[-1].message
    finally:
        await client.close()
        await running.runner.cleanup()


@case("The server has no model named")
async def missing_model() -> str:
    return await _job_error(lambda g: g["1"]["inputs"].update(ckpt_name="my-model.safetensors"))


@case("Update ComfyUI, or install the extension")
async def missing_node() -> str:
    return await _job_error(lambda g: g["1"].update(class_type="SomeCustomLoader"))


@case("Generation failed on the server")
async def runtime_error() -> str:
    return await _job_error(
        lambda g: g["2"].update(
            class_type="CLIPTextEncodeSDXL",
            inputs={
                **g["2"]["inputs"],
                "width": 8,
                "height": 8,
                "crop_w": 0,
                "crop_h": 0,
                "target_width": 8,
                "target_height": 8,
                "text_g": "",
                "text_l": "",
            },
        )
    )


@case("ran out of memory")
async def out_of_memory() -> str:
    return _failure(
        "j",
        {
            "node_type": "KSampler",
            "exception_message": "CUDA out of memory. Tried to allocate 2 GiB",
        },
    ).message


@case("The server lost this job")
async def server_restarted() -> str:
    running = await start_server()
    running.fake.faults.step_delay = 0.3
    client = await ComfyClient.connect(ServerConfig(running.url))
    client.reconnect_delays = (0.05, 0.1)
    try:
        job = await client.enqueue(
            build_workflow(
                GenerationRequest(
                    checkpoint=CHECKPOINT, extent=Extent(64, 64), sampling=Sampling(steps=3)
                )
            )
        )
        await __import__("asyncio").sleep(0.5)
        running.fake.worker.cancel()
        running.fake.restart()
        events = await collect(client, {job})
        return events[-1].message  # type: ignore[union-attr]
    finally:
        await client.close()
        await running.runner.cleanup()


@case("is not on the server")
async def unknown_lora() -> str:
    try:
        build_workflow(
            GenerationRequest(checkpoint=CHECKPOINT, prompt="<lora:pixelart:0.8>"), object_info()
        )
    except UserError as e:
        return e.message
    raise AssertionError("built")


@case("Steps must be at least 1")
async def zero_steps() -> str:
    try:
        build_workflow(GenerationRequest(checkpoint=CHECKPOINT, sampling=Sampling(steps=0)))
    except UserError as e:
        return e.message
    raise AssertionError("built")


@case("Choose a model (checkpoint)")
async def no_checkpoint() -> str:
    try:
        build_workflow(GenerationRequest(prompt="x"))
    except UserError as e:
        return e.message
    raise AssertionError("built")


# --- cloud providers --------------------------------------------------------------------------


async def _provider_error(
    kind: str, setup: Callable[[object], None], action: Callable[[object], Awaitable[object]]
) -> str:
    fake: object = FakeRunPod() if kind == "runpod" else FakeVast()
    key = fake.api_key  # type: ignore[attr-defined]
    setup(fake)
    runner, port = await _serve(fake.app())  # type: ignore[attr-defined]

    async def no_sleep(_: float) -> None:
        return None

    url = f"http://127.0.0.1:{port}"
    provider = (
        RunPodProvider(key, base_url=url, sleep=no_sleep)
        if kind == "runpod"
        else VastProvider(key, base_url=url, sleep=no_sleep)
    )
    try:
        await action(provider)
    except UserError as e:
        return e.message
    finally:
        await runner.cleanup()
    raise AssertionError("no error")


@case("RunPod refused the API key")
async def runpod_bad_key() -> str:
    return await _provider_error(
        "runpod", lambda f: setattr(f, "api_key", "other"), lambda p: p.list_pods()
    )  # type: ignore[attr-defined]


@case("balance is too low")
async def runpod_no_funds() -> str:
    return await _provider_error(
        "runpod", lambda f: setattr(f, "status_once", [402]), lambda p: p.list_pods()
    )  # type: ignore[attr-defined]


@case("None of the chosen GPUs is available")
async def no_gpu_available() -> str:
    async def create(p: RunPodProvider) -> None:
        gpus = await p.list_gpus()
        p.http.base_url  # noqa: B018
        await create_pod_with_fallback(p, PodSpec(DEFAULT_IMAGE), gpus)

    def setup(f: FakeRunPod) -> None:
        f.no_capacity.update(
            ["NVIDIA GeForce RTX 4090", "NVIDIA RTX A5000", "NVIDIA GeForce RTX 3090"]
        )

    return await _provider_error("runpod", setup, create)  # type: ignore[arg-type]


@case("is refusing requests because too many were sent")
async def rate_limited() -> str:
    return await _provider_error(
        "runpod", lambda f: setattr(f, "status_once", [429] * 10), lambda p: p.list_pods()
    )  # type: ignore[attr-defined]


@case("has no free GPU now")
async def resume_refused() -> str:
    async def resume(p: RunPodProvider) -> None:
        pod = await p.create_pod(PodSpec(DEFAULT_IMAGE), (await p.list_gpus())[0])
        await p.stop(pod.id)
        await p.resume(pod.id)

    return await _provider_error("runpod", lambda f: setattr(f, "refuse_resume", True), resume)  # type: ignore[arg-type]


@case("The pod stopped while starting")
async def pod_failed_while_starting() -> str:
    async def wait(p: RunPodProvider) -> None:
        pod = await p.create_pod(PodSpec(DEFAULT_IMAGE), (await p.list_gpus())[0])
        await wait_until_ready(p, pod.id, 3001, poll=0, timeout=30)

    return await _provider_error("runpod", lambda f: setattr(f, "fail_with_error", True), wait)  # type: ignore[arg-type]


@case("vast.ai refused the API key")
async def vast_bad_key() -> str:
    return await _provider_error(
        "vast", lambda f: setattr(f, "api_key", "other"), lambda p: p.list_pods()
    )  # type: ignore[attr-defined]


def test_catalog_has_at_least_twenty_cases() -> None:
    assert len(CATALOG) >= 20


# Registered last: they run every case above.
test_each_bad_input_gets_its_message = CATALOG.message_test()
test_troubleshooting_page_explains_each_message = CATALOG.docs_test()
