"""The Cloud GPU panel against the fake RunPod and vast APIs, under both Qt bindings."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from ai_diffusion.cloud import PodState, RunPodProvider, VastProvider
from ai_diffusion.qt import Qt
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state.pods import PodController
from ai_diffusion.ui.pod_panel import PodPanel
from tests.fakes.comfy_server import FakeComfy
from tests.fakes.runpod_server import FakeRunPod
from tests.fakes.vast_server import FakeVast
from tests.test_cli_pod import ThreadServers
from tests.test_secrets import MemoryKeyring


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cloud() -> Iterator[dict]:
    servers = ThreadServers()
    comfy = servers.serve(FakeComfy.create().app())
    wall = Clock(1_800_000_000.0)
    runpod = FakeRunPod(comfy_url=comfy, clock=wall)
    vast = FakeVast(comfy_port=int(comfy.rsplit(":", 1)[1]), clock=wall)
    urls = {"runpod": servers.serve(runpod.app()), "vast": servers.serve(vast.app())}
    proxy = runpod.proxy_template(servers.serve(runpod.proxy_app()))

    async def no_sleep(_: float) -> None:
        return None

    def factory(name: str, key: str):
        if name == "runpod":
            return RunPodProvider(
                key, base_url=urls["runpod"], proxy_template=proxy, sleep=no_sleep
            )
        return VastProvider(key, base_url=urls["vast"], sleep=no_sleep, wall_clock=wall)

    yield {
        "factory": factory,
        "runpod": runpod,
        "vast": vast,
        "comfy": comfy,
        "urls": urls,
        "proxy": proxy,
        "wall": wall,
    }
    servers.close()


@pytest.mark.parametrize("provider", ["runpod", "vast"])
def test_typed_key_is_used_at_once_and_not_stored(qtbot, qt_loop, cloud, provider: str) -> None:
    """The painter types the key and presses Find GPUs, then Create, without Save key."""
    keyring = MemoryKeyring()
    pods = PodController(SecretStore(keyring), cloud["factory"], clock=Clock())
    panel = PodPanel(pods)
    qtbot.addWidget(panel)
    panel.provider.setCurrentIndex(panel.provider.findData(provider))
    qtbot.keyClicks(panel.key, cloud[provider].api_key)
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=10000)
    assert "API key first" not in panel.message.text()
    with qtbot.waitSignal(pods.ready, timeout=20000):
        qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)
    assert pods.pod is not None and pods.pod.name.startswith("krita-")
    # Kept for the session (switching providers and back keeps it), not in the password store.
    other = "vast" if provider == "runpod" else "runpod"
    panel.provider.setCurrentIndex(panel.provider.findData(other))
    assert panel.key.text() == ""
    panel.provider.setCurrentIndex(panel.provider.findData(provider))
    assert panel.key.text() == cloud[provider].api_key
    # The password store holds the new pod's own token (the gateway's), not the API key.
    assert [name for _, name in keyring.items] == [f"pod_token:{provider}:{pods.pod.id}"]
    pods.terminate()
    qtbot.waitUntil(lambda: pods.pod is None, timeout=10000)


@pytest.mark.parametrize("provider", ["runpod", "vast"])
def test_typed_key_wins_over_an_old_saved_one(qtbot, qt_loop, cloud, provider: str) -> None:
    keyring = MemoryKeyring()
    secrets = SecretStore(keyring)
    secrets.set(f"{provider}_api_key", "revoked-key-from-last-year")
    pods = PodController(secrets, cloud["factory"], clock=Clock())
    panel = PodPanel(pods)
    qtbot.addWidget(panel)
    panel.provider.setCurrentIndex(panel.provider.findData(provider))
    assert panel.key.placeholderText() == "API key saved"
    qtbot.keyClicks(panel.key, cloud[provider].api_key)
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: panel.gpu.count() > 0 or "refused" in panel.message.text(), timeout=10000
    )
    assert panel.gpu.count() > 0, panel.message.text()
    # Save key stores the typed key in the password store, in place of the old one.
    qtbot.mouseClick(panel.save_key, Qt.MouseButton.LeftButton)
    assert keyring.items[("ai_diffusion", f"{provider}_api_key")] == cloud[provider].api_key
    assert "password store" in panel.message.text()


@pytest.mark.parametrize("provider", ["runpod", "vast"])
def test_key_to_ready_pod_to_nothing_running(qtbot, qt_loop, cloud, provider: str) -> None:
    secrets = SecretStore(use_system=False)
    pods = PodController(secrets, cloud["factory"], clock=Clock())
    panel = PodPanel(pods)
    qtbot.addWidget(panel)
    panel.provider.setCurrentIndex(panel.provider.findData(provider))
    qtbot.keyClicks(panel.key, cloud[provider].api_key)
    qtbot.mouseClick(panel.save_key, Qt.MouseButton.LeftButton)
    assert secrets.get(f"{provider}_api_key") == cloud[provider].api_key
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=10000)
    assert "$" in panel.gpu.itemText(0) and "/h" in panel.gpu.itemText(0)
    with qtbot.waitSignal(pods.ready, timeout=20000) as ready:
        qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)
    assert ready.args[0].startswith("http://127.0.0.1:")
    states = [panel.states.item(i).text() for i in range(panel.states.count())]
    assert states[0] == "provisioning" and states[-1] == "ready"
    qtbot.waitUntil(lambda: "/h" in panel.bar.text(), timeout=5000)
    assert "spent" in panel.bar.text()
    qtbot.mouseClick(panel.stop, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: pods.pod is not None and pods.pod.state is PodState.stopped, timeout=10000
    )
    pods.terminate()
    qtbot.waitUntil(lambda: pods.pod is None, timeout=10000)
    assert "Terminated" in panel.message.text() or "terminated" in panel.message.text()


def test_idle_pod_is_stopped_after_a_warning(qtbot, qt_loop, cloud) -> None:
    clock = Clock()
    secrets = SecretStore(use_system=False)
    secrets.set("runpod_api_key", cloud["runpod"].api_key)
    pods = PodController(secrets, cloud["factory"], clock=clock, idle_minutes=30)
    panel = PodPanel(pods)
    qtbot.addWidget(panel)
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=10000)
    with qtbot.waitSignal(pods.ready, timeout=20000):
        qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: pods.pod is not None and pods.pod.state is PodState.running, timeout=5000
    )
    pods.job_busy(True)
    clock.now += 3600
    pods.tick()
    assert pods.pod.state is PodState.running  # never while a job runs
    pods.job_busy(False)
    clock.now += 29.5 * 60
    pods.tick()
    assert "stops in one minute" in panel.message.text()
    clock.now += 60
    pods.tick()
    qtbot.waitUntil(
        lambda: pods.pod is not None and pods.pod.state is PodState.stopped, timeout=10000
    )


def test_missing_key_says_what_to_do(qtbot, qt_loop, cloud) -> None:
    pods = PodController(SecretStore(use_system=False), cloud["factory"], clock=Clock())
    panel = PodPanel(pods)
    qtbot.addWidget(panel)
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "API key first" in panel.message.text(), timeout=5000)


def test_docker_uses_the_provider_addresses_it_is_given(qtbot, qt_loop, cloud, tmp_path) -> None:
    """Inside Krita the plugin passes the addresses from AI_DIFFUSION_RUNPOD_API & co."""
    from ai_diffusion.cloud import ProviderEndpoints
    from ai_diffusion.ui.docker_widget import create_docker_widget

    endpoints = ProviderEndpoints(runpod_api=cloud["urls"]["runpod"], runpod_proxy=cloud["proxy"])
    widget = create_docker_widget(
        None, None, tmp_path, SecretStore(use_system=False), providers=endpoints.provider
    )
    qtbot.addWidget(widget)
    panel = widget.pod_panel
    qtbot.keyClicks(panel.key, cloud["runpod"].api_key)
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.message.text() not in ("", "Looking for GPUs…"), timeout=10000)
    assert panel.gpu.count() == 3, panel.message.text()
    assert ("GET", "/v2/catalog/gpus") in cloud["runpod"].requests


def _spent(bar: str) -> float:
    match = re.search(r"\$(\d+\.\d\d) spent", bar)
    assert match, bar
    return float(match.group(1))


@pytest.mark.parametrize("provider", ["runpod", "vast"])
def test_money_shown_is_price_times_running_time(qtbot, qt_loop, cloud, provider: str) -> None:
    """Over a 2-minute run, polled every 15 s as the panel does, the bar's money is the
    stand-in's price × the time the pod has been running, within a cent."""
    wall = cloud["wall"]
    pods = PodController(SecretStore(use_system=False), cloud["factory"], clock=wall)
    panel = PodPanel(pods)
    qtbot.addWidget(panel)
    panel.provider.setCurrentIndex(panel.provider.findData(provider))
    qtbot.keyClicks(panel.key, cloud[provider].api_key)
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=10000)
    panel.gpu.setCurrentIndex(panel.gpu.count() - 1)  # the dearest: errors show sooner
    with qtbot.waitSignal(pods.ready, timeout=20000):
        qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)
    assert pods.pod is not None
    fake = cloud[provider]
    if provider == "runpod":
        price, started = fake.pods[pods.pod.id]["price"], fake.pods[pods.pod.id]["running_since"]
    else:
        instance = fake.instances[int(pods.pod.id)]
        price, started = instance["dph_total"], instance["start_date"]
    assert f"${price:.2f}/h" in panel.bar.text()
    for _ in range(8):
        wall.now += 15
        with qtbot.waitSignal(pods.pod_changed, timeout=10000):
            pods.tick()
        expected = price * (wall.now - started) / 3600
        assert abs(_spent(panel.bar.text()) - expected) <= 0.01, (panel.bar.text(), expected)
    assert wall.now - started >= 120 and "0 h 02 min" in panel.bar.text()
    pods.terminate()
    qtbot.waitUntil(lambda: pods.pod is None, timeout=10000)


def test_closing_the_window_asks_and_stops_the_running_pod(qtbot, qt_loop, cloud) -> None:
    """What Krita's window does when it closes: the question shows, "Stop it" stops the pod."""
    from ai_diffusion.qt import QTimer, QtWidgets
    from ai_diffusion.ui.pod_panel import AskBeforeClosing

    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    pods = PodController(SecretStore(use_system=False), cloud["factory"], clock=Clock())
    panel = PodPanel(pods, window)
    window.setCentralWidget(panel)
    window.installEventFilter(AskBeforeClosing(panel))
    window.show()
    qtbot.keyClicks(panel.key, cloud["runpod"].api_key)
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=10000)
    with qtbot.waitSignal(pods.ready, timeout=20000):
        qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)
    pod_id = pods.pod.id
    seen: list[str] = []

    def answer() -> None:
        box = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(box, QtWidgets.QMessageBox):
            QTimer.singleShot(50, answer)
            return
        seen.append(box.windowTitle())
        next(b for b in box.buttons() if b.text() == "Stop it").click()

    QTimer.singleShot(50, answer)
    window.close()
    assert seen == ["A cloud GPU is still running"]
    assert cloud["runpod"].pods[pod_id]["status"] == "EXITED"


@pytest.mark.parametrize("provider", ["runpod", "vast"])
def test_docker_connects_to_the_ready_pod_and_lets_go_when_it_ends(
    qtbot, qt_loop, cloud, tmp_path, provider: str
) -> None:
    from ai_diffusion.ui.docker_widget import create_docker_widget

    widget = create_docker_widget(
        None, None, tmp_path, SecretStore(use_system=False), providers=cloud["factory"]
    )
    qtbot.addWidget(widget)
    panel = widget.pod_panel
    panel.provider.setCurrentIndex(panel.provider.findData(provider))
    qtbot.keyClicks(panel.key, cloud[provider].api_key)
    qtbot.mouseClick(panel.find, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.gpu.count() > 0, timeout=10000)
    qtbot.mouseClick(panel.create, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=20000)
    assert widget.status.text() == f"Connected to {widget.url.text()}"
    widget.pods.terminate()  # Terminate, its question answered Yes
    qtbot.waitUntil(lambda: widget.controller.state == "disconnected", timeout=10000)
    assert "terminated" in panel.message.text()


def test_a_pod_stopped_elsewhere_is_let_go(qtbot, qt_loop, cloud) -> None:
    """Stopped on the provider's website: the next poll tells the docker to let go of it."""
    pods = PodController(SecretStore(use_system=False), cloud["factory"], clock=Clock())
    pods.use_key(cloud["runpod"].api_key)
    pods.find_gpus()
    qtbot.waitUntil(lambda: bool(pods.gpus), timeout=10000)
    with qtbot.waitSignal(pods.ready, timeout=20000):
        pods.create(pods.gpus)
    pods.refresh()
    qtbot.waitUntil(lambda: pods.pod.state is PodState.running, timeout=5000)
    cloud["runpod"].pods[pods.pod.id]["status"] = "EXITED"
    with qtbot.waitSignal(pods.released, timeout=10000):
        pods.refresh()
    assert pods.pod.state is PodState.stopped


def test_only_pods_of_earlier_sessions_are_offered(qtbot, qt_loop, cloud) -> None:
    """The check at start runs a few seconds in: a pod the painter is creating by then, or
    has created, is not "left running by an earlier session"."""
    pods = PodController(SecretStore(use_system=False), cloud["factory"], clock=Clock())
    pods.use_key(cloud["runpod"].api_key)
    pods.find_gpus()
    qtbot.waitUntil(lambda: bool(pods.gpus), timeout=10000)
    pods.create(pods.gpus)
    qtbot.waitUntil(lambda: bool(cloud["runpod"].pods), timeout=10000)  # exists, not ready
    offered: list[list] = []
    pods.orphans_found.connect(offered.append)
    while_creating = pods.check_orphans()
    qtbot.waitUntil(while_creating.done, timeout=10000)
    with qtbot.waitSignal(pods.ready, timeout=20000):
        pass
    once_running = pods.check_orphans()
    qtbot.waitUntil(once_running.done, timeout=10000)
    assert offered == []
    cloud["runpod"].pods["old1"] = dict(
        next(iter(cloud["runpod"].pods.values())), id="old1", name="krita-old1"
    )
    with qtbot.waitSignal(pods.orphans_found, timeout=10000) as found:
        pods.check_orphans()
    assert [p.name for p in found.args[0]] == ["krita-old1"]
