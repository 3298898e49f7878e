"""Cloud pods against fake RunPod v2 and vast.ai APIs that follow the shared contracts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from ai_diffusion.cloud import (
    AuthError,
    Conflict,
    IdleAction,
    IdleWatch,
    InsufficientFunds,
    InvalidRequest,
    NoCapacity,
    Pod,
    PodFailed,
    PodSpec,
    PodState,
    PodTokenRefused,
    Provider,
    ProviderEndpoints,
    RateLimited,
    ResumeRefused,
    RunPodProvider,
    TransientError,
    VastProvider,
    create_pod_with_fallback,
    find_orphans,
    wait_until_ready,
)
from ai_diffusion.cloud.images import DEFAULT_IMAGE, IMAGES
from ai_diffusion.cloud.readiness import comfyui_answers
from ai_diffusion.errors import UserError
from tests.comfy_fixtures import RunningServer, start_server
from tests.fakes.runpod_server import FakeRunPod
from tests.fakes.vast_server import FakeVast


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]


class WallClock:
    """Seconds since the epoch, moved on by tests (``clock.now += 120``)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def comfy() -> AsyncIterator[RunningServer]:
    running = await start_server()
    yield running
    await running.runner.cleanup()


@pytest.fixture
async def runpod(comfy: RunningServer) -> AsyncIterator[tuple[FakeRunPod, RunPodProvider, Sleeps]]:
    fake = FakeRunPod(comfy_url=comfy.url, clock=WallClock())
    runner, url = await _serve(fake.app())
    proxy_runner, proxy = await _serve(fake.proxy_app())  # every pod's port: the fake ComfyUI
    sleeps = Sleeps()
    provider = RunPodProvider(
        fake.api_key, base_url=url, proxy_template=fake.proxy_template(proxy), sleep=sleeps
    )
    yield fake, provider, sleeps
    await runner.cleanup()
    await proxy_runner.cleanup()


@pytest.fixture
async def vast(comfy: RunningServer) -> AsyncIterator[tuple[FakeVast, VastProvider, Sleeps]]:
    clock = WallClock()
    fake = FakeVast(comfy_port=comfy.port, clock=clock)
    runner, url = await _serve(fake.app())
    sleeps = Sleeps()
    yield fake, VastProvider(fake.api_key, base_url=url, sleep=sleeps, wall_clock=clock), sleeps
    await runner.cleanup()


def spec() -> PodSpec:
    return PodSpec(DEFAULT_IMAGE, token="pod-token-abcdef")


async def test_runpod_create_ready_stop_resume_terminate(runpod) -> None:
    fake, provider, sleeps = runpod
    gpus = await provider.list_gpus()
    assert [g.price_per_hour for g in gpus] == sorted(g.price_per_hour for g in gpus)
    assert gpus[0].gpu_name == "RTX A5000" and gpus[0].price_per_hour == 0.27
    pod, _ = await create_pod_with_fallback(provider, spec(), gpus)
    assert pod.name.startswith("krita-") and pod.state is PodState.provisioning
    states: list[str] = []
    url = await wait_until_ready(
        provider, pod.id, 3001, on_state=states.append, sleep=sleeps, poll=0
    )
    assert states == ["starting", "ready"] or states[-1] == "ready"
    assert await comfyui_answers(url)
    fake.clock.now += 600  # type: ignore[attr-defined]
    running = await provider.get_pod(pod.id)
    assert running.price_per_hour == 0.27 and running.uptime_seconds == 600
    assert running.cost_so_far == pytest.approx(0.27 * 600 / 3600)
    await provider.stop(pod.id)
    assert (await provider.get_pod(pod.id)).state is PodState.stopped
    await provider.resume(pod.id)
    await provider.terminate(pod.id)
    assert await provider.get_pod(pod.id) is None


async def test_runpod_gpus_cheapest_first_and_only_hosts_new_enough_for_the_image(runpod) -> None:
    _, provider, _ = runpod
    everything = await provider.list_gpus()
    assert [g.price_per_hour for g in everything] == sorted(g.price_per_hour for g in everything)
    assert "RTX 3090" in [g.gpu_name for g in everything]
    usable = await provider.list_gpus(min_cuda=DEFAULT_IMAGE.min_cuda)
    assert usable and "RTX 3090" not in [g.gpu_name for g in usable]


async def test_runpod_capacity_falls_back_to_the_next_gpu(runpod) -> None:
    fake, provider, _ = runpod
    gpus = await provider.list_gpus()
    fake.no_capacity.add(gpus[0].ref)
    skipped = []
    pod, gpu = await create_pod_with_fallback(
        provider, spec(), gpus, on_skip=lambda g, why: skipped.append(g.gpu_name)
    )
    assert skipped == [gpus[0].gpu_name] and gpu == gpus[1]
    fake.no_capacity.update(g.ref for g in gpus)
    with pytest.raises(NoCapacity) as error:
        await create_pod_with_fallback(provider, spec(), gpus)
    assert "None of the chosen GPUs is available" in error.value.message


async def test_runpod_429_honours_retry_after(runpod) -> None:
    fake, provider, sleeps = runpod
    fake.retry_after = "7"
    fake.status_once = [429, 429]
    assert await provider.list_gpus()
    assert sleeps.calls == [7.0, 7.0]


async def test_runpod_transient_5xx_is_retried_with_backoff(runpod) -> None:
    fake, provider, sleeps = runpod
    fake.status_once = [503, 502]
    assert await provider.list_pods() == []
    assert sleeps.calls == [1, 2]


async def test_retries_are_bounded_and_end_with_a_final_message(runpod) -> None:
    fake, provider, sleeps = runpod
    fake.status_once = [429] * 10
    with pytest.raises(RateLimited) as limited:
        await provider.list_pods()
    assert len(sleeps.calls) == 3 and "Wait a minute" in limited.value.message
    fake.status_once = [503] * 10
    with pytest.raises(TransientError) as transient:
        await provider.list_pods()
    assert "try again in a few minutes" in transient.value.message
    assert "retr" not in limited.value.message + transient.value.message  # no false promise


async def test_runpod_422_shows_what_was_wrong_and_is_not_retried(runpod) -> None:
    _, provider, sleeps = runpod
    with pytest.raises(InvalidRequest) as error:
        await provider.http.request(
            "POST", "/v2/pods", {"name": "krita-x", "image": "i", "bogus": 1}
        )
    assert "bogus" in error.value.message and "not allowed" in error.value.message
    assert sleeps.calls == []


async def test_runpod_401_and_402_are_worded_and_not_retried(runpod, caplog) -> None:
    fake, provider, sleeps = runpod
    bad = RunPodProvider("wrong-key-0000000", base_url=provider.http.base_url, sleep=sleeps)
    with pytest.raises(AuthError) as error:
        await bad.list_pods()
    assert "API key" in error.value.message and "wrong-key-0000000" not in error.value.message
    fake.status_once = [402]
    with pytest.raises(InsufficientFunds) as funds:
        await provider.create_pod(spec(), (await provider.list_gpus())[0])
    assert "Add funds" in funds.value.message
    assert sleeps.calls == []


async def test_runpod_409_and_refused_resume(runpod) -> None:
    fake, provider, sleeps = runpod
    pod = await provider.create_pod(spec(), (await provider.list_gpus())[0])
    await wait_until_ready(provider, pod.id, 3001, sleep=sleeps, poll=0, timeout=30)
    with pytest.raises(Conflict):
        await provider.resume(pod.id)  # already running
    await provider.stop(pod.id)
    fake.refuse_resume = True
    with pytest.raises(ResumeRefused) as error:
        await provider.resume(pod.id)
    assert "Terminate it and create a new pod" in error.value.message


async def test_runpod_error_status_stops_the_wait(runpod) -> None:
    fake, provider, sleeps = runpod
    fake.fail_with_error = True
    pod = await provider.create_pod(spec(), (await provider.list_gpus())[0])
    with pytest.raises(PodFailed) as error:
        await wait_until_ready(provider, pod.id, 3001, sleep=sleeps, poll=0, timeout=30)
    assert "ERROR" in error.value.message


async def test_html_200_is_not_ready(runpod, comfy: RunningServer) -> None:
    fake, provider, sleeps = runpod
    comfy.fake.faults.html_200 = True
    pod = await provider.create_pod(spec(), (await provider.list_gpus())[0])
    states: list[str] = []
    ticks = iter(range(1000))
    with pytest.raises(PodFailed) as error:
        await wait_until_ready(
            provider,
            pod.id,
            3001,
            on_state=states.append,
            sleep=sleeps,
            poll=0,
            timeout=5,
            clock=lambda: next(ticks),
        )
    assert "loading models" in states and "ready" not in states
    assert "did not become ready" in error.value.message


async def test_vast_create_ready_stop_resume_destroy(vast) -> None:
    fake, provider, sleeps = vast
    offers = await provider.list_gpus(gpu_names=["RTX 3090", "RTX 4090"])
    assert [o.ref for o in offers] == ["501", "502"] and offers[0].price_per_hour == 0.21
    pod, _ = await create_pod_with_fallback(provider, spec(), offers)
    states: list[str] = []
    url = await wait_until_ready(
        provider, pod.id, 3001, on_state=states.append, sleep=sleeps, poll=0
    )
    assert url.startswith("http://127.0.0.1:") and states[-1] == "ready"
    await provider.stop(pod.id)
    assert (await provider.get_pod(pod.id)).state is PodState.stopped
    await provider.resume(pod.id)
    await provider.terminate(pod.id)
    assert await provider.get_pod(pod.id) is None


async def test_pod_token_is_sent_and_a_refused_token_stops_the_wait(
    vast, comfy: RunningServer
) -> None:
    fake, provider, sleeps = vast
    image = IMAGES["vast-comfyui"]
    comfy.fake.faults.token = "pod-token-abcdef"  # the image's auth proxy
    offers = await provider.list_gpus()
    pod = await provider.create_pod(PodSpec(image, token="pod-token-abcdef"), offers[0])
    assert fake.instances[int(pod.id)]["env"]["OPEN_BUTTON_TOKEN"] == "pod-token-abcdef"
    url = await wait_until_ready(
        provider, pod.id, image.port, token="pod-token-abcdef", sleep=sleeps, poll=0
    )
    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(PodTokenRefused) as error:
        await wait_until_ready(provider, pod.id, image.port, token="wrong", sleep=sleeps, poll=0)
    assert "refused" in error.value.message and "wrong" not in error.value.message


async def test_vast_taken_offer_falls_back(vast) -> None:
    fake, provider, _ = vast
    offers = await provider.list_gpus(min_cuda=DEFAULT_IMAGE.min_cuda)
    assert [o.ref for o in offers] == ["501", "502"]  # the CUDA 12.8 host cannot run the image
    fake.taken.add(501)
    pod, offer = await create_pod_with_fallback(provider, spec(), offers)
    assert offer.ref == "502"


async def test_vast_auth_and_rate_limit(vast) -> None:
    fake, provider, sleeps = vast
    with pytest.raises(AuthError):
        await VastProvider(
            "nope-nope-nope", base_url=provider.http.base_url, sleep=sleeps
        ).list_pods()
    fake.status_once = [429]
    await provider.list_pods()
    assert sleeps.calls == [2.0]


async def test_orphans_are_the_running_krita_pods(vast) -> None:
    fake, provider, sleeps = vast
    offers = await provider.list_gpus(min_cuda="13.0")
    mine = [await provider.create_pod(spec(), o) for o in offers]
    for pod in mine:
        await wait_until_ready(provider, pod.id, 3001, sleep=sleeps, poll=0, timeout=30)
    fake.instances[9999] = {**fake.instances[int(mine[0].id)], "id": 9999, "label": "someone-else"}
    await provider.stop(mine[1].id)
    orphans = await find_orphans(provider)
    assert [p.id for p in orphans] == [mine[0].id]


def test_idle_auto_stop_warns_a_minute_before() -> None:
    watch = IdleWatch(minutes=30, now=0)
    assert watch.tick(60) is IdleAction.none
    watch.job_started(100)
    assert watch.tick(100 + 3600) is IdleAction.none  # never while a job runs
    watch.job_finished(4000)
    assert watch.tick(4000 + 29 * 60 - 1) is IdleAction.none
    assert watch.tick(4000 + 29 * 60 + 1) is IdleAction.warn
    assert watch.tick(4000 + 29 * 60 + 30) is IdleAction.none  # warned once
    assert watch.tick(4000 + 30 * 60) is IdleAction.stop
    assert watch.tick(4000 + 31 * 60) is IdleAction.none
    assert IdleWatch(minutes=0, now=0).tick(10**9) is IdleAction.none  # 0 = off


async def test_api_key_never_reaches_logs(runpod, caplog, tmp_path: Path) -> None:
    from ai_diffusion.logs import setup_file_logging

    fake, provider, sleeps = runpod
    log_file = setup_file_logging(tmp_path, "cloud.log", logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    fake.status_once = [429, 503]
    logging.getLogger("ai_diffusion.test").info("key is %s", fake.api_key)
    await provider.list_gpus()
    try:
        await RunPodProvider(
            "bad-key-1234567", base_url=provider.http.base_url, sleep=sleeps
        ).list_pods()
    except AuthError as e:
        logging.getLogger("ai_diffusion.test").warning("failed: %s", e)
    text = log_file.read_text()
    assert "key is ***" in text
    assert fake.api_key not in text and "bad-key-1234567" not in text
    for handler in list(logging.getLogger("ai_diffusion").handlers):
        if getattr(handler, "baseFilename", "") == str(log_file):
            logging.getLogger("ai_diffusion").removeHandler(handler)
            handler.close()


def test_endpoints_default_to_the_providers_and_follow_the_environment() -> None:
    default = ProviderEndpoints.from_env({})
    assert default.runpod_api == "https://api.runpod.io"
    assert default.runpod_proxy == "https://{pod_id}-{port}.proxy.runpod.net"
    assert default.vast_api == "https://console.vast.ai"
    env = {
        "AI_DIFFUSION_RUNPOD_API": "http://127.0.0.1:9001",
        "AI_DIFFUSION_RUNPOD_PROXY": "http://127.0.0.1:9002/{pod_id}/{port}",
        "AI_DIFFUSION_VAST_API": "https://vast.proxy.example.com",
    }
    endpoints = ProviderEndpoints.from_env(env)
    runpod = endpoints.provider("runpod", "k")
    vast = endpoints.provider("vast", "k")
    assert isinstance(runpod, RunPodProvider) and isinstance(vast, VastProvider)
    assert runpod.http.base_url == "http://127.0.0.1:9001"
    pod = Pod("runpod", "abc", "krita-x", PodState.running)
    assert runpod.service_url(pod, 3001) == "http://127.0.0.1:9002/abc/3001"
    assert vast.http.base_url == "https://vast.proxy.example.com"


@pytest.mark.parametrize(
    "variable, value, says",
    [
        ("AI_DIFFUSION_RUNPOD_PROXY", "https://proxy.example.com/{pod_id}", "{port}"),
        ("AI_DIFFUSION_VAST_API", "console.vast.ai", "not a web address"),
    ],
)
def test_a_wrong_endpoint_setting_names_the_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(UserError) as caught:
        ProviderEndpoints.from_env({variable: value})
    assert variable in caught.value.message and says in caught.value.message


async def test_a_job_runs_through_the_runpod_proxy_websocket_included(runpod) -> None:
    await _job_through_the_pods_address(*runpod)


async def test_a_job_runs_through_the_vast_port_mapping_websocket_included(vast) -> None:
    await _job_through_the_pods_address(*vast)


async def _job_through_the_pods_address(fake: object, provider: Provider, sleeps: Sleeps) -> None:
    """As on the real providers, the pod's address (RunPod's proxy, vast.ai's port mapping)
    carries ComfyUI's HTTP and its websocket; once the pod stops, it carries nothing."""
    from ai_diffusion.comfy import ComfyClient, ServerConfig
    from ai_diffusion.comfy.errors import ConnectionFailure
    from ai_diffusion.comfy.events import Finished, Progress
    from ai_diffusion.workflow import build_workflow
    from tests.comfy_fixtures import collect
    from tests.test_comfy_jobs import txt2img

    gpus = await provider.list_gpus()
    pod, _ = await create_pod_with_fallback(provider, PodSpec(DEFAULT_IMAGE), gpus)
    url = await wait_until_ready(provider, pod.id, DEFAULT_IMAGE.port, sleep=sleeps, poll=0)
    client = await ComfyClient.connect(ServerConfig(url))
    try:
        job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
        events = await collect(client, {job})
    finally:
        await client.close()
    assert any(isinstance(e, Progress) for e in events)  # progress only comes by websocket
    assert isinstance(events[-1], Finished) and events[-1].images
    await provider.stop(pod.id)
    with pytest.raises(ConnectionFailure):
        await ComfyClient.connect(ServerConfig(url))
