"""Models that stay: the Cloud GPU panel's network volume, against the fake RunPod API.

The monthly cost is shown (and follows the size) before anything is made; Create with the box
ticked makes the volume and then the pod with ``networkVolumeId``; an existing volume can be
chosen instead; unticked, no volume is made; vast.ai says "not yet"."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from ai_diffusion.cloud import RunPodProvider, VastProvider
from ai_diffusion.cloud.errors import InvalidRequest
from ai_diffusion.qt import Qt
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state.pods import PodController
from ai_diffusion.ui.pod_panel import PodPanel
from tests.fakes.comfy_server import FakeComfy
from tests.fakes.runpod_server import FakeRunPod
from tests.fakes.vast_server import FakeVast
from tests.test_cli_pod import ThreadServers
from tests.test_secrets import MemoryKeyring

WAIT = 20000


@pytest.fixture
def cloud() -> Iterator[dict[str, Any]]:
    servers = ThreadServers()
    comfy = servers.serve(FakeComfy.create().app())
    runpod = FakeRunPod(comfy_url=comfy)
    vast = FakeVast(comfy_port=int(comfy.rsplit(":", 1)[1]))
    urls = {"runpod": servers.serve(runpod.app()), "vast": servers.serve(vast.app())}
    proxy = runpod.proxy_template(servers.serve(runpod.proxy_app()))

    async def no_sleep(_: float) -> None:
        return None

    def factory(name: str, key: str) -> Any:
        if name == "runpod":
            return RunPodProvider(
                key, base_url=urls["runpod"], proxy_template=proxy, sleep=no_sleep
            )
        return VastProvider(key, base_url=urls["vast"], sleep=no_sleep)

    yield {"factory": factory, "runpod": runpod, "vast": vast}
    servers.close()


@pytest.fixture
def panel(qtbot, qt_loop, cloud: dict[str, Any]) -> PodPanel:
    pods = PodController(SecretStore(MemoryKeyring()), cloud["factory"])
    widget = PodPanel(pods)
    qtbot.addWidget(widget)
    widget.key.setText(cloud["runpod"].api_key)
    return widget


def volume_posts(runpod: FakeRunPod) -> list[tuple[str, str]]:
    return [r for r in runpod.requests if r == ("POST", "/v2/networkvolumes")]


def create_pod(qtbot, panel: PodPanel) -> None:
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=WAIT)
    with qtbot.waitSignal(panel.pods.ready, timeout=WAIT):
        qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)


def test_the_cost_line_follows_the_size(panel: PodPanel) -> None:
    panel.volume_size.setValue(50)
    assert panel.volume_cost.text() == (
        "50 GB: about $3.50 a month, billed while the volume exists, also when no pod runs"
    )
    panel.volume_size.setValue(200)
    assert panel.volume_cost.text().startswith("200 GB: about $14.00 a month")
    assert panel.pods.volume_gb == 200
    assert not panel.volume_size.isEnabled()  # until the box is ticked


def test_create_with_the_box_ticked_makes_the_volume_then_the_pod_on_it(
    qtbot, panel: PodPanel, cloud: dict[str, Any]
) -> None:
    runpod: FakeRunPod = cloud["runpod"]
    panel.volume.setChecked(True)
    qtbot.waitUntil(lambda: ("GET", "/v2/networkvolumes") in runpod.requests, timeout=WAIT)
    assert panel.volume_size.isEnabled() and panel.volume_choice.isEnabled()
    panel.volume_size.setValue(30)
    create_pod(qtbot, panel)

    assert len(runpod.volumes) == 1 and len(volume_posts(runpod)) == 1
    volume = next(iter(runpod.volumes.values()))
    assert volume["size"] == 30 and volume["name"].startswith("krita-models-")
    (pod,) = runpod.pods.values()
    assert pod["networkVolumeId"] == volume["id"]
    # The next pod would use it too: it is now the chosen one, with its cost.
    assert panel.pods.volume_id == volume["id"]
    assert panel.volume_choice.currentData() == volume["id"]
    assert panel.volume_cost.text().startswith(f"{volume['name']}, 30 GB: about $2.10 a month")


def test_an_existing_volume_can_be_chosen(qtbot, panel: PodPanel, cloud: dict[str, Any]) -> None:
    runpod: FakeRunPod = cloud["runpod"]
    runpod.volumes["vol-1"] = {
        "id": "vol-1", "name": "my-models", "size": 80, "dataCenterId": "US-KS-2",
    }  # fmt: skip
    panel.volume.setChecked(True)
    qtbot.waitUntil(lambda: panel.volume_choice.count() == 2, timeout=WAIT)
    assert panel.volume_choice.itemText(0) == "New volume"
    assert panel.volume_choice.itemText(1) == "my-models (80 GB, US-KS-2)"
    panel.volume_choice.setCurrentIndex(1)
    assert panel.pods.volume_id == "vol-1"
    assert not panel.volume_size.isEnabled()  # its size is its own
    assert panel.volume_cost.text().startswith("my-models, 80 GB: about $5.60 a month")
    create_pod(qtbot, panel)

    assert volume_posts(runpod) == [] and list(runpod.volumes) == ["vol-1"]
    (pod,) = runpod.pods.values()
    assert pod["networkVolumeId"] == "vol-1"


def test_nothing_is_made_when_unticked(qtbot, panel: PodPanel, cloud: dict[str, Any]) -> None:
    runpod: FakeRunPod = cloud["runpod"]
    create_pod(qtbot, panel)
    assert runpod.volumes == {} and volume_posts(runpod) == []
    assert not any(path == "/v2/networkvolumes" for _, path in runpod.requests)
    (pod,) = runpod.pods.values()
    assert "networkVolumeId" not in pod


def test_vast_says_not_yet(panel: PodPanel) -> None:
    panel.volume.setChecked(True)
    panel.provider.setCurrentIndex(panel.provider.findData("vast"))
    assert not panel.volume.isEnabled() and not panel.volume.isChecked()
    assert panel.volume_cost.text().startswith("vast.ai: not yet")
    assert panel.pods.use_volume is False
    panel.provider.setCurrentIndex(panel.provider.findData("runpod"))
    assert panel.volume.isEnabled()


def test_the_fake_refuses_unknown_volume_fields(cloud: dict[str, Any]) -> None:
    provider = cloud["factory"]("runpod", cloud["runpod"].api_key)
    http = provider.http

    async def post(body: dict[str, Any]) -> Any:
        return await http.request("POST", "/v2/networkvolumes", body)

    with pytest.raises(InvalidRequest):
        asyncio.run(post({"name": "x", "size": 10, "dataCenterId": "EU-RO-1", "type": "ssd"}))
    with pytest.raises(InvalidRequest):
        asyncio.run(post({"name": "x", "size": 0, "dataCenterId": "EU-RO-1"}))
    assert cloud["runpod"].volumes == {}
