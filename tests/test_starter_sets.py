"""Starter sets (``ai_diffusion/cloud/starter_sets.py``): the data is well-formed, and a ticked
set leads to one gateway download per file once a rented pod is ready — against the fake
RunPod whose pod really runs the pod gateway in front of the fake ComfyUI, with the file server
standing in for Hugging Face."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ai_diffusion.cloud import RunPodProvider
from ai_diffusion.cloud.gateway import FOLDERS
from ai_diffusion.cloud.pod_start import TOKEN_ENV
from ai_diffusion.cloud.starter_sets import STARTER_SETS, StarterModel, starter_models
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state.pods import PodController
from ai_diffusion.workflow.family_table import FAMILIES
from tests.fake_serving import fake_in_process, gateway_in_process
from tests.fakes.runpod_server import FakeRunPod
from tests.test_cli_pod import ThreadServers
from tests.test_secrets import MemoryKeyring
from tests.widgets.conftest import qt_loop  # noqa: F401  (a fixture)

SIZE = 300_000


def test_sd15_sdxl_flux_z_image_and_qwen_each_have_a_small_set() -> None:
    assert {"sd15", "sdxl", "flux-dev", "z-image-turbo", "qwen-image"} <= set(STARTER_SETS)
    for starter in STARTER_SETS.values():
        assert 1 <= len(starter.models) <= 4, starter.id
        assert starter.title and starter.approx_gb > 0


def test_sets_are_named_after_families_of_the_family_table() -> None:
    ids = {f.id for f in FAMILIES}
    assert set(STARTER_SETS) <= ids


@pytest.mark.parametrize(
    "model", [m for s in STARTER_SETS.values() for m in s.models], ids=lambda m: m.filename
)
def test_each_entry_is_well_formed(model: StarterModel) -> None:
    assert model.folder in FOLDERS
    parts = urlsplit(model.url)
    assert parts.scheme == "https" and parts.netloc and "/resolve/main/" in parts.path
    assert model.filename.endswith(".safetensors")
    assert model.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", model.sha256)
    assert model.size is None or model.size > 0
    assert model.label and model.approx_gb > 0


def test_starter_models_lists_each_file_once_in_order() -> None:
    models = starter_models({"qwen-image", "sd15", "unknown"})
    assert [m.folder for m in models] == ["checkpoints", "diffusion_models", "text_encoders", "vae"]
    assert starter_models(set()) == []


# When the pod is ready -----------------------------------------------------------------------


@pytest.fixture
def pod_with_gateway(tmp_path: Path) -> Iterator[dict[str, Any]]:
    models = tmp_path / "pod-models"
    models.mkdir()
    with contextlib.ExitStack() as stack:
        comfy = stack.enter_context(
            fake_in_process("tests.fakes.comfy_server", "--models", str(models))
        )
        files = stack.enter_context(fake_in_process("tests.fakes.file_server"))
        servers = ThreadServers()
        stack.callback(servers.close)
        runpod = FakeRunPod()

        def start_gateway(pod: dict[str, Any]) -> None:  # as the pod's start command does
            log = tmp_path / f"gateway-{pod['id']}.log"
            token = pod["env"][TOKEN_ENV]
            runpod.comfy_url = stack.enter_context(gateway_in_process(comfy, models, token, log))

        runpod.on_create = start_gateway
        api = servers.serve(runpod.app())
        proxy = runpod.proxy_template(servers.serve(runpod.proxy_app()))

        async def no_sleep(_: float) -> None:
            return None

        def factory(name: str, key: str) -> RunPodProvider:
            return RunPodProvider(key, base_url=api, proxy_template=proxy, sleep=no_sleep)

        yield {"factory": factory, "runpod": runpod, "files": files, "models": models}


@pytest.mark.usefixtures("qt_loop")
def test_ticked_sets_are_downloaded_by_the_gateway_when_the_pod_is_ready(
    qtbot, pod_with_gateway: dict[str, Any]
) -> None:
    env = pod_with_gateway
    runpod: FakeRunPod = env["runpod"]
    pods = PodController(SecretStore(MemoryKeyring()), env["factory"])
    pods.use_key(runpod.api_key)
    pods.starter_sets = {"z-image-turbo"}
    pods.starter_poll = 0.1
    pods.starter_url = lambda m: f"{env['files']}/files/{SIZE}/{m.filename}"  # for Hugging Face
    landed: list[bool] = []
    pods.models_landed.connect(lambda: landed.append(True))
    messages: list[str] = []
    pods.message.connect(messages.append)

    pods.find_gpus()
    qtbot.waitUntil(lambda: bool(pods.gpus), timeout=10000)
    with qtbot.waitSignal(pods.ready, timeout=20000):
        pods.create(pods.gpus)
    qtbot.waitUntil(lambda: any(m.startswith("Starter models: ") for m in messages), timeout=20000)

    expected = starter_models({"z-image-turbo"})
    assert len(landed) == len(expected) == 3
    for model in expected:
        assert (env["models"] / model.folder / model.filename).stat().st_size == SIZE
    asked = [p for p in runpod.proxied if p.endswith("/gateway/models/download")]
    assert len(asked) == len(expected)  # one gateway download per entry, through the proxy
    assert messages[-1] == "Starter models: 3 downloaded."


@pytest.mark.usefixtures("qt_loop")
def test_nothing_is_downloaded_when_no_set_is_ticked(
    qtbot, pod_with_gateway: dict[str, Any]
) -> None:
    env = pod_with_gateway
    runpod: FakeRunPod = env["runpod"]
    pods = PodController(SecretStore(MemoryKeyring()), env["factory"])
    pods.use_key(runpod.api_key)
    pods.find_gpus()
    qtbot.waitUntil(lambda: bool(pods.gpus), timeout=10000)
    with qtbot.waitSignal(pods.ready, timeout=20000):
        pods.create(pods.gpus)
    qtbot.wait(300)
    assert not [p for p in runpod.proxied if "/gateway/models" in p]
    assert not any(env["models"].rglob("*.safetensors"))


@pytest.mark.usefixtures("qt_loop")
def test_a_file_already_there_is_not_downloaded_again(
    qtbot, pod_with_gateway: dict[str, Any]
) -> None:
    """As on a network volume that a former pod filled."""
    env = pod_with_gateway
    (env["models"] / "vae").mkdir()
    (env["models"] / "vae" / "ae.safetensors").write_bytes(b"kept")
    pods = PodController(SecretStore(MemoryKeyring()), env["factory"])
    pods.use_key(env["runpod"].api_key)
    pods.starter_sets = {"z-image-turbo"}
    pods.starter_poll = 0.1
    pods.starter_url = lambda m: f"{env['files']}/files/{SIZE}/{m.filename}"
    messages: list[str] = []
    pods.message.connect(messages.append)
    pods.find_gpus()
    qtbot.waitUntil(lambda: bool(pods.gpus), timeout=10000)
    pods.create(pods.gpus)
    qtbot.waitUntil(lambda: any(m.startswith("Starter models: ") for m in messages), timeout=30000)
    assert messages[-1] == "Starter models: 2 downloaded, 1 already on the pod."
    assert (env["models"] / "vae" / "ae.safetensors").read_bytes() == b"kept"
