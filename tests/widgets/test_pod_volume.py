"""Models that stay: the Cloud GPU panel's volume, against the fake RunPod and vast.ai APIs.

RunPod: the monthly cost is shown (and follows the size) before anything is made; the data
center is the painter's choice (from the catalog), and the pod is rented where the volume is;
Create with the box ticked makes the volume and then the pod that mounts it at /workspace; an
existing volume can be chosen instead; unticked, no volume is made.

vast.ai: a volume stays on one machine. Find GPUs with the box ticked lists only GPUs whose
machine keeps volumes, and the chosen one's machine's price gives the monthly cost before
anything is made; Create makes the volume there and rents on that machine; an existing volume
lists only its machine's GPUs."""

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
    return [r for r in runpod.requests if r == ("POST", "/v2/network-volumes")]


def network_mount(pod: dict[str, Any]) -> dict[str, Any] | None:
    network = pod.get("mounts", {}).get("network")
    return network[0] if network else None


def create_pod(qtbot, panel: PodPanel) -> None:
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=WAIT)
    with qtbot.waitSignal(panel.pods.ready, timeout=WAIT):
        qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)


def test_the_cost_line_follows_the_size(panel: PodPanel) -> None:
    panel.volume_size.setValue(50)
    assert panel.volume_cost.text().startswith(
        "50 GB in EU-RO-1: about $3.50 a month, billed while the volume exists, also when no pod runs"
    )
    panel.volume_size.setValue(200)
    assert panel.volume_cost.text().startswith("200 GB in EU-RO-1: about $14.00 a month")
    assert panel.pods.volume_gb == 200
    assert not panel.volume_size.isEnabled()  # until the box is ticked


def test_create_with_the_box_ticked_makes_the_volume_then_the_pod_on_it(
    qtbot, panel: PodPanel, cloud: dict[str, Any]
) -> None:
    runpod: FakeRunPod = cloud["runpod"]
    panel.volume.setChecked(True)
    qtbot.waitUntil(lambda: ("GET", "/v2/network-volumes") in runpod.requests, timeout=WAIT)
    assert panel.volume_size.isEnabled() and panel.volume_choice.isEnabled()
    panel.volume_size.setValue(30)
    create_pod(qtbot, panel)

    assert len(runpod.volumes) == 1 and len(volume_posts(runpod)) == 1
    volume = next(iter(runpod.volumes.values()))
    assert volume["size"] == 30 and volume["name"].startswith("krita-models-")
    assert volume["dataCenter"] == "EU-RO-1"
    (pod,) = runpod.pods.values()
    assert network_mount(pod) == {"volumeId": volume["id"], "path": "/workspace"}
    assert pod["dataCenterId"] == "EU-RO-1"
    # The next pod would use it too: it is now the chosen one, with its cost.
    assert panel.pods.volume_id == volume["id"]
    assert panel.volume_choice.currentData() == volume["id"]
    assert panel.volume_cost.text().startswith(
        f"{volume['name']}, 30 GB in EU-RO-1: about $2.10 a month"
    )


def test_an_existing_volume_can_be_chosen(qtbot, panel: PodPanel, cloud: dict[str, Any]) -> None:
    runpod: FakeRunPod = cloud["runpod"]
    runpod.volumes["vol-1"] = {
        "id": "vol-1", "name": "my-models", "size": 80, "dataCenter": "US-KS-2", "type": "STANDARD",
    }  # fmt: skip
    panel.volume.setChecked(True)
    qtbot.waitUntil(lambda: panel.volume_choice.count() == 2, timeout=WAIT)
    assert panel.volume_choice.itemText(0) == "New volume"
    assert panel.volume_choice.itemText(1) == "my-models (80 GB, US-KS-2)"
    panel.volume_choice.setCurrentIndex(1)
    assert panel.pods.volume_id == "vol-1"
    assert not panel.volume_size.isEnabled()  # its size is its own
    assert not panel.volume_region.isEnabled()  # it stays where it is
    assert panel.volume_cost.text().startswith("my-models, 80 GB in US-KS-2: about $5.60 a month")
    create_pod(qtbot, panel)

    # Only GPUs that data center has were offered (the RTX A5000 is in EU-RO-1 only).
    assert {g.gpu_name for g in panel.pods.gpus} == {"RTX 4090", "RTX 3090"}
    assert volume_posts(runpod) == [] and list(runpod.volumes) == ["vol-1"]
    (pod,) = runpod.pods.values()
    assert network_mount(pod) == {"volumeId": "vol-1", "path": "/workspace"}
    assert pod["dataCenterId"] == "US-KS-2"


def test_the_data_center_is_chosen_from_the_catalog(
    qtbot, panel: PodPanel, cloud: dict[str, Any]
) -> None:
    runpod: FakeRunPod = cloud["runpod"]
    panel.volume.setChecked(True)
    qtbot.waitUntil(lambda: ("GET", "/v2/catalog/datacenters") in runpod.requests, timeout=WAIT)
    qtbot.waitUntil(lambda: panel.volume_region.count() == 2, timeout=WAIT)
    # The catalog's data centers that keep volumes (US-CA-1 keeps none).
    centers = [panel.volume_region.itemData(i) for i in range(panel.volume_region.count())]
    assert centers == ["EU-RO-1", "US-KS-2"]
    assert panel.volume_region.itemText(1) == "US-KS-2 (US Kansas 2)"
    panel.volume_region.setCurrentIndex(1)
    assert panel.volume_cost.text().startswith("50 GB in US-KS-2: about $3.50 a month")
    create_pod(qtbot, panel)

    assert {g.gpu_name for g in panel.pods.gpus} == {"RTX 4090", "RTX 3090"}
    (volume,) = runpod.volumes.values()
    assert volume["dataCenter"] == "US-KS-2"
    (pod,) = runpod.pods.values()
    assert pod["dataCenterId"] == "US-KS-2"
    assert network_mount(pod) == {"volumeId": volume["id"], "path": "/workspace"}


def test_nothing_is_made_when_unticked(qtbot, panel: PodPanel, cloud: dict[str, Any]) -> None:
    runpod: FakeRunPod = cloud["runpod"]
    create_pod(qtbot, panel)
    assert runpod.volumes == {} and volume_posts(runpod) == []
    assert not any(path == "/v2/network-volumes" for _, path in runpod.requests)
    (pod,) = runpod.pods.values()
    assert network_mount(pod) is None


def use_vast(qtbot, panel: PodPanel, cloud: dict[str, Any]) -> FakeVast:
    panel.provider.setCurrentIndex(panel.provider.findData("vast"))
    panel.key.setText(cloud["vast"].api_key)
    return cloud["vast"]


def test_vast_shows_the_chosen_machines_price_before_anything_is_made(
    qtbot, panel: PodPanel, cloud: dict[str, Any]
) -> None:
    vast = use_vast(qtbot, panel, cloud)
    assert panel.volume.isEnabled() and not panel.volume_region.isVisible()
    panel.volume.setChecked(True)
    panel.volume_size.setValue(100)
    assert "each machine has its own price" in panel.volume_cost.text()
    assert "stays on one machine" in panel.volume_cost.text()
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=WAIT)
    # Only GPUs whose machine keeps volumes (machine 7003, the RTX 3080's, keeps none).
    assert [g.gpu_name for g in panel.pods.gpus] == ["RTX 3090", "RTX 4090"]
    assert panel.gpu.itemText(0).endswith("volume $0.15/GB·month")
    assert panel.volume_cost.text().startswith(
        "100 GB on this GPU's machine: about $15.00 a month ($0.15 per GB), billed while the "
        "volume exists"
    )
    panel.gpu.setCurrentIndex(1)
    assert panel.volume_cost.text().startswith("100 GB on this GPU's machine: about $20.00 a month")
    assert vast.volumes == {}  # nothing made yet
    assert ("PUT", "/api/v0/volumes/") not in vast.requests


def test_vast_create_makes_the_volume_on_the_gpus_machine_and_rents_there(
    qtbot, panel: PodPanel, cloud: dict[str, Any]
) -> None:
    vast = use_vast(qtbot, panel, cloud)
    panel.volume.setChecked(True)
    panel.volume_size.setValue(40)
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=WAIT)
    panel.gpu.setCurrentIndex(1)  # the RTX 4090, on machine 7002
    with qtbot.waitSignal(panel.pods.ready, timeout=WAIT):
        qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)

    ((volume_id, volume),) = vast.volumes.items()
    assert volume["machine_id"] == 7002 and volume["disk_space"] == 40
    assert volume["label"].startswith("krita_models_")  # vast.ai names: letters, digits, _
    (instance,) = vast.instances.values()
    assert instance["machine_id"] == 7002 and instance["gpu_name"] == "RTX 4090"
    assert instance["volume_info"] == {
        "create_new": False, "volume_id": volume_id, "mount_path": "/workspace",
    }  # fmt: skip
    assert volume["instances"] == [instance["id"]]
    assert panel.pods.volume_id == str(volume_id)
    assert panel.volume_choice.currentText().startswith(f"{volume['label']} (40 GB, machine 7002")


def test_vast_an_existing_volume_lists_only_its_machines_gpus(
    qtbot, panel: PodPanel, cloud: dict[str, Any]
) -> None:
    vast = use_vast(qtbot, panel, cloud)
    vast.volumes[4242] = {
        "id": 4242, "label": "my_models", "disk_space": 60.0, "machine_id": 7001,
        "status": "created", "start_date": 0, "instances": [],
    }  # fmt: skip
    panel.volume.setChecked(True)
    qtbot.waitUntil(lambda: panel.volume_choice.count() == 2, timeout=WAIT)
    assert panel.volume_choice.itemText(1) == "my_models (60 GB, machine 7001)"
    panel.volume_choice.setCurrentIndex(1)
    assert panel.volume_cost.text().startswith("my_models, 60 GB (machine 7001): billed while")
    assert "pods with it can only be rented there" in panel.volume_cost.text()
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=WAIT)
    assert [g.gpu_name for g in panel.pods.gpus] == ["RTX 3090"]  # machine 7001's only
    with qtbot.waitSignal(panel.pods.ready, timeout=WAIT):
        qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)
    (instance,) = vast.instances.values()
    assert instance["machine_id"] == 7001
    assert instance["volume_info"]["volume_id"] == 4242
    assert ("PUT", "/api/v0/volumes/") not in vast.requests


def test_vast_gpus_found_without_the_volume_are_refused_in_words(
    qtbot, panel: PodPanel, cloud: dict[str, Any]
) -> None:
    """GPUs found before the volume was chosen may be on other machines: nothing is rented."""
    vast = use_vast(qtbot, panel, cloud)
    vast.volumes[4243] = {
        "id": 4243, "label": "far_away", "disk_space": 20.0, "machine_id": 7003,
        "status": "created", "start_date": 0, "instances": [],
    }  # fmt: skip
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)  # machines 7001 and 7002
    qtbot.waitUntil(lambda: panel.gpu.count() == 2, timeout=WAIT)
    panel.volume.setChecked(True)
    qtbot.waitUntil(lambda: panel.volume_choice.count() == 2, timeout=WAIT)
    panel.volume_choice.setCurrentIndex(1)
    qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "None of the GPUs found" in panel.message.text(), timeout=WAIT)
    assert vast.instances == {}


def test_the_fakes_refuse_what_the_real_apis_refuse(cloud: dict[str, Any]) -> None:
    runpod = cloud["factory"]("runpod", cloud["runpod"].api_key).http
    vast = cloud["factory"]("vast", cloud["vast"].api_key).http

    async def call(http: Any, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        return await http.request(method, path, body, **kw)

    post = "/v2/network-volumes"
    for body in (
        {"name": "x", "size": 10, "dataCenter": "EU-RO-1", "encrypted": True},  # unknown field
        {"name": "x", "size": 5, "dataCenter": "EU-RO-1"},  # under 10 GB
        {"name": "x", "size": 10, "dataCenterId": "EU-RO-1"},  # the old field name
        {"name": "x", "size": 10, "dataCenter": "EU-RO-1", "type": "SSD"},
    ):
        with pytest.raises(InvalidRequest):
            asyncio.run(call(runpod, "POST", post, body))
    with pytest.raises(InvalidRequest):  # a data center without volumes
        asyncio.run(call(runpod, "POST", post, {"name": "x", "size": 10, "dataCenter": "US-CA-1"}))
    assert cloud["runpod"].volumes == {}
    for body in (
        {"id": 9001, "size": 10, "name": "has-hyphens"},
        {"id": 9001, "size": 10_000},  # more than the offer holds
        {"size": 10},
    ):
        with pytest.raises(InvalidRequest):
            asyncio.run(call(vast, "PUT", "/api/v0/volumes/", body))
    assert cloud["vast"].volumes == {}
    with pytest.raises(Exception, match="refused the API key"):
        bad = cloud["factory"]("vast", "wrong-key-0000000000").http
        asyncio.run(call(bad, "GET", "/api/v0/volumes/", params={"owner": "me"}))
