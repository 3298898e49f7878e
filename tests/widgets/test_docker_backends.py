"""The docker's connection settings choose the kind of server: a RunPod Serverless endpoint, a
Salad group, several ComfyUI servers. Keys go to the password store, never to the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_diffusion.backends.pool import PoolConfig
from ai_diffusion.backends.runpod_serverless import RunPodServerlessConfig
from ai_diffusion.backends.salad import SaladConfig
from ai_diffusion.comfy import ServerConfig
from ai_diffusion.qt import Qt
from ai_diffusion.secrets import SecretStore
from ai_diffusion.settings import Settings
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.widgets.fake_client import FakeConnector
from tests.widgets.fake_document import FakeDocument, FakeDocuments

WAIT = 5000


@pytest.fixture
def setup(qtbot, qt_loop, tmp_path: Path):
    connector = FakeConnector()
    secrets = SecretStore(use_system=False)
    widget = create_docker_widget(
        None, FakeDocuments([FakeDocument()]), tmp_path, secrets, connector
    )
    qtbot.addWidget(widget)
    widget.show()
    return widget, connector, secrets


def _choose(qtbot, widget, kind: str):
    dialog = widget.open_connection_dialog()
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentIndex(dialog.kind.findData(kind))
    return dialog


def _connect(qtbot, widget) -> None:
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)


def test_serverless_endpoint_is_remembered_and_its_key_only_in_the_store(
    qtbot, setup, tmp_path: Path
) -> None:
    widget, connector, secrets = setup
    dialog = _choose(qtbot, widget, "runpod-serverless")
    assert dialog.endpoint.isEnabled() and dialog.api_key.isEnabled()
    assert not dialog.url.isEnabled() and not dialog.extra_servers.isEnabled()
    dialog.endpoint.setText("4m7x2k9q1abcde")
    dialog.api_key.setText("rp-painters-key-424242")
    dialog.worker_image.setText("runpod/worker-comfyui:5.8.5-sdxl")
    dialog.session_only.setChecked(False)
    dialog.ok_button.click()
    text = (tmp_path / "settings.json").read_text()
    assert "4m7x2k9q1abcde" in text and "runpod-serverless" in text
    assert "rp-painters-key" not in text
    assert secrets.get("runpod_api_key") == "rp-painters-key-424242"
    _connect(qtbot, widget)
    config = connector.clients[-1].config
    assert isinstance(config, RunPodServerlessConfig)
    assert config.endpoint_id == "4m7x2k9q1abcde" and config.api_key == "rp-painters-key-424242"
    assert config.image.endswith("-sdxl")
    # After a restart the same connection comes back, key from the store.
    again = Settings.load(tmp_path)
    assert (
        again.backend_kind == "runpod-serverless" and again.serverless_endpoint == "4m7x2k9q1abcde"
    )


def test_salad_group_uses_the_address_and_the_salad_key(qtbot, setup) -> None:
    widget, connector, _ = setup
    dialog = _choose(qtbot, widget, "salad")
    assert dialog.url.isEnabled() and dialog.api_key.isEnabled() and not dialog.token.isEnabled()
    dialog.url.setText("https://krita-comfy.salad.cloud")
    dialog.api_key.setText("salad-key-77777777")
    dialog.ok_button.click()
    _connect(qtbot, widget)
    config = connector.clients[-1].config
    assert isinstance(config, SaladConfig) and config.api_key == "salad-key-77777777"
    assert config.url == "https://krita-comfy.salad.cloud"


def test_more_servers_make_one_connection_to_several(qtbot, setup) -> None:
    widget, connector, _ = setup
    dialog = _choose(qtbot, widget, "auto")
    dialog.url.setText("https://pod-a.example")
    dialog.extra_servers.setText("https://pod-b.example, 10.0.0.5:8188")
    dialog.ok_button.click()
    _connect(qtbot, widget)
    config = connector.clients[-1].config
    assert isinstance(config, PoolConfig)
    urls = [m.url for m in config.members]
    assert urls == ["https://pod-a.example", "https://pod-b.example", "10.0.0.5:8188"]
    assert all(isinstance(m, ServerConfig) for m in config.members)


def test_job_api_notes_and_where_a_job_runs_reach_the_panel(qtbot, setup) -> None:
    from ai_diffusion.comfy.events import Queued, Started
    from tests.widgets.fake_client import CHECKPOINT

    widget, connector, _ = setup
    widget.url.setText("127.0.0.1:8188")
    _connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a boat")
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "job-1" in widget.controller.jobs, timeout=WAIT)
    client = connector.clients[-1]
    client.push(Queued("job-1", 0, "Waiting for a worker to start (cold start …)."))
    qtbot.waitUntil(lambda: "cold start" in widget.message.text(), timeout=WAIT)
    client.push(Started("job-1", "Running (waited 42 s for a worker) [pod B]"))
    qtbot.waitUntil(lambda: "[pod B]" in widget.message.text(), timeout=WAIT)


def test_elapsed_time_is_shown_while_jobs_run(qtbot, setup) -> None:
    from ai_diffusion.comfy.events import Finished
    from tests.widgets.fake_client import CHECKPOINT

    widget, connector, _ = setup
    now = [100.0]
    widget.elapsed.clock = lambda: now[0]
    widget.url.setText("127.0.0.1:8188")
    _connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a boat")
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.elapsed.text() == "0:00 elapsed", timeout=WAIT)
    now[0] = 172.0
    widget.elapsed.tick()  # what the one-second timer does
    assert widget.elapsed.text() == "1:12 elapsed"
    qtbot.waitUntil(lambda: "job-1" in widget.controller.jobs, timeout=WAIT)
    connector.clients[-1].push(Finished("job-1", []))
    qtbot.waitUntil(lambda: widget.elapsed.text() == "", timeout=WAIT)


def test_a_chosen_webui_kind_is_kept_for_every_address(qtbot, setup) -> None:
    from ai_diffusion.backends.select import ServerKind

    widget, connector, _ = setup
    dialog = _choose(qtbot, widget, "a1111")
    assert dialog.extra_servers.isEnabled() and dialog.auth_kind.isEnabled()
    dialog.url.setText("http://10.0.0.7:7861")
    dialog.extra_servers.setText("http://10.0.0.8:7861")
    dialog.ok_button.click()
    _connect(qtbot, widget)
    config = connector.clients[-1].config
    assert isinstance(config, PoolConfig)
    assert all(isinstance(m, ServerKind) and m.kind == "a1111" for m in config.members)


def test_cost_of_a_per_second_job_and_the_session_is_shown(qtbot, setup) -> None:
    import io

    from PIL import Image as PILImage

    from ai_diffusion.comfy.events import Finished
    from tests.widgets.fake_client import CHECKPOINT

    widget, connector, _ = setup
    widget.url.setText("127.0.0.1:8188")
    _connect(qtbot, widget)
    client = connector.clients[-1]
    client.job_cost = lambda job_id: 0.0012 if job_id == "job-1" else 0.0
    client.session_cost = 0.0036
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a boat")
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "job-1" in widget.controller.jobs, timeout=WAIT)
    buffer = io.BytesIO()
    PILImage.new("RGBA", (64, 64), (1, 2, 3, 255)).save(buffer, "PNG")
    client.push(Finished("job-1", [buffer.getvalue()]))
    qtbot.waitUntil(lambda: "Done" in widget.message.text(), timeout=WAIT)
    assert "Cost about $0.0012 (this session $0.004)" in widget.message.text()
