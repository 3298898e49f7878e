"""The docker's "Add models" panel as a painter meets it, against real processes: the pod
gateway (``ai_diffusion/pod_gateway/gateway.py``) in front of the fake ComfyUI, both on the same
models folder (the fake lists what is there, as ComfyUI rescans), and a model host
(``tests/fakes/file_server.py``).

A pasted link downloads into the chosen folder with its progress shown, and the new LoRA is then
among the docker's LoRA choices; Cancel leaves nothing behind; an uploaded file lands in the
folder; a plain ComfyUI gets the by-hand text; the Civitai key never reaches a file or a log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from ai_diffusion.logs import setup_file_logging
from ai_diffusion.qt import Qt, QtWidgets
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state.model_transfers import TransferRow, by_hand_text
from ai_diffusion.state.observable import bind
from ai_diffusion.ui.docker_widget import DockerWidget, create_docker_widget
from tests.fake_serving import ROOT, fake_in_process, gateway_in_process
from tests.fakes.file_server import content
from tests.test_cli_pod import ThreadServers
from tests.widgets.fake_document import FakeDocument, FakeDocuments

WAIT = 20000
TOKEN = "docker-gateway-token-3f9a7c1e5b"
CIVITAI_KEY = "civitai-key-8d2b6e4f0a1c"
OUTPUT = ROOT / "test-output"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pod-models")


@pytest.fixture(scope="module")
def comfy(models: Path) -> Iterator[str]:
    with fake_in_process("tests.fakes.comfy_server", "--models", str(models)) as url:
        yield url


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    with fake_in_process("tests.fakes.file_server") as url:
        yield url


@pytest.fixture(scope="module")
def gateway_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway") / "gateway.log"


@pytest.fixture(scope="module")
def gateway(comfy: str, models: Path, gateway_log: Path) -> Iterator[str]:
    with gateway_in_process(comfy, models, TOKEN, gateway_log) as url:
        yield url
    assert TOKEN not in gateway_log.read_text()


@pytest.fixture
def log_folder(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "logs"
    setup_file_logging(folder, level=logging.DEBUG)
    yield folder
    logger = logging.getLogger("ai_diffusion")
    for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
        logger.removeHandler(handler)
        handler.close()


@pytest.fixture
def docker(qtbot, qt_loop, tmp_path: Path) -> DockerWidget:
    widget = create_docker_widget(
        None, FakeDocuments([FakeDocument()]), tmp_path, SecretStore(use_system=False)
    )
    qtbot.addWidget(widget)
    widget.resize(300, 900)
    widget.show()
    widget.session.model_transfers.poll = 0.1
    return widget


def connect(qtbot, widget: DockerWidget, url: str, token: str = "") -> None:
    widget.url.setText(url)
    widget.token.setText(token)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    qtbot.waitUntil(lambda: widget.session.model_transfers.gateway in ("yes", "no"), timeout=WAIT)
    section = widget.connection_section
    if not section.panel.isVisible():
        qtbot.mouseClick(section.line, Qt.MouseButton.LeftButton)  # the panel opens again
    section.panel.models_toggle.setChecked(True)


def panel(widget: DockerWidget):  # type: ignore[no-untyped-def]
    return widget.connection_section.panel.models_panel


def last_row(widget: DockerWidget) -> TransferRow:
    return widget.session.model_transfers.transfers[-1]


def leftovers(models: Path) -> list[str]:
    return [p.name for p in models.rglob("*") if p.name.endswith(".gateway-part")]


# Behind the gateway ----------------------------------------------------------------------------


def test_a_pasted_link_downloads_with_progress_and_the_lora_is_then_offered(
    qtbot, docker: DockerWidget, gateway: str, files: str, models: Path
) -> None:
    connect(qtbot, docker, gateway, TOKEN)
    p = panel(docker)
    assert p.gateway_part.isVisible() and not p.by_hand.isVisible()
    assert docker.lora_box.pick.findText("ink-wash-lora.safetensors") < 0
    seen: list[tuple[TransferRow, ...]] = []
    bind(docker.session.model_transfers, "transfers", seen.append)
    size = 3 * 2**20
    p.folder.setCurrentIndex(p.folder.findData("checkpoints"))
    p.url.setText(f"  {files}/files/{size}/ink-wash-lora.safetensors?rate=700000  ")
    assert p.folder.currentData() == "loras"  # preselected: the name says LoRA
    qtbot.mouseClick(p.download, Qt.MouseButton.LeftButton)
    assert p.url.text() == ""
    qtbot.waitUntil(lambda: p.rows and last_row(docker).state == "downloading", timeout=WAIT)
    qtbot.waitUntil(lambda: 0 < last_row(docker).percent < 100, timeout=WAIT)
    row = p.rows[last_row(docker).key]
    assert row.progress.isVisible() and 0 < row.progress.value() < 100
    assert "LoRA" in row.text.text() and "MB" in row.text.text()
    _screenshot(docker, "model-transfers.png")
    qtbot.waitUntil(lambda: last_row(docker).state == "done", timeout=WAIT)
    assert last_row(docker).name == "ink-wash-lora.safetensors"
    assert (models / "loras" / "ink-wash-lora.safetensors").read_bytes() == content(
        "ink-wash-lora.safetensors", size
    )
    # The model lists were read again: the new LoRA is a choice in the docker.
    qtbot.waitUntil(
        lambda: docker.lora_box.pick.findText("ink-wash-lora.safetensors") >= 0, timeout=WAIT
    )
    assert "ready" in row.text.text() and not row.cancel.isVisible()
    assert "LoRA" in p.message.text()
    states = [r.state for rows in seen for r in rows]
    assert "downloading" in states and states[-1] == "done"
    assert leftovers(models) == []


def test_cancel_leaves_nothing_in_the_folder(
    qtbot, docker: DockerWidget, gateway: str, files: str, models: Path
) -> None:
    connect(qtbot, docker, gateway, TOKEN)
    p = panel(docker)
    p.folder.setCurrentIndex(p.folder.findData("checkpoints"))
    p.url.setText(f"{files}/files/{40 * 2**20}/slow-model.safetensors?rate=100000")
    assert p.folder.currentData() == "checkpoints"  # nothing in the name: the choice stays
    qtbot.mouseClick(p.download, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: last_row(docker).done > 0, timeout=WAIT)
    assert leftovers(models)  # the part file is being written
    row = p.rows[last_row(docker).key]
    qtbot.mouseClick(row.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: last_row(docker).state == "cancelled", timeout=WAIT)
    qtbot.waitUntil(lambda: leftovers(models) == [], timeout=WAIT)
    assert not (models / "checkpoints" / "slow-model.safetensors").exists()
    assert "cancelled" in row.text.text() and not row.cancel.isVisible()


def test_an_uploaded_file_lands_in_the_folder_and_is_offered(
    qtbot, docker: DockerWidget, gateway: str, models: Path, tmp_path: Path
) -> None:
    connect(qtbot, docker, gateway, TOKEN)
    p = panel(docker)
    local = tmp_path / "my-own-style.safetensors"
    local.write_bytes(content("my-own-style", 700_000))
    p.folder.setCurrentIndex(p.folder.findData("loras"))
    p.ask_file = lambda: str(local)  # the painter chose the file in the dialog
    qtbot.mouseClick(p.upload, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: last_row(docker).state == "done", timeout=WAIT)
    assert (models / "loras" / local.name).read_bytes() == local.read_bytes()
    qtbot.waitUntil(lambda: docker.lora_box.pick.findText(local.name) >= 0, timeout=WAIT)
    assert last_row(docker).kind == "upload" and leftovers(models) == []


# Civitai key ------------------------------------------------------------------------------------


class CivitaiStandIn:
    """Like civitai.com's download links: the key as a bearer token, then a redirect to the
    file on another host (where the key must not go)."""

    def __init__(self, files: str) -> None:
        self.files = files
        self.seen: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/download/models/{id}", self.download)
        return app

    async def download(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != f"Bearer {CIVITAI_KEY}":
            return web.json_response({"error": "Unauthorized"}, status=401)
        name = f"civitai-{request.match_info['id']}-style.safetensors"
        raise web.HTTPFound(f"{self.files}/files/300000/{name}?cd={name}")


def test_the_civitai_key_is_used_and_never_lands_in_a_file_or_the_log(
    qtbot,
    docker: DockerWidget,
    gateway: str,
    files: str,
    models: Path,
    tmp_path: Path,
    log_folder: Path,
    gateway_log: Path,
) -> None:
    servers = ThreadServers()
    civitai = CivitaiStandIn(files)
    try:
        link = servers.serve(civitai.app()) + "/api/download/models/4711"
        transfers = docker.session.model_transfers
        transfers.civitai_hosts = ("127.0.0.1",)  # the stand-in plays civitai.com
        shown: list[str] = []
        bind(transfers, "message", shown.append)
        connect(qtbot, docker, gateway, TOKEN)
        p = panel(docker)
        p.folder.setCurrentIndex(p.folder.findData("loras"))
        # Without the key: Civitai refuses, and the panel says what to do.
        p.url.setText(link)
        qtbot.mouseClick(p.download, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: last_row(docker).state == "failed", timeout=WAIT)
        qtbot.waitUntil(lambda: "Civitai needs your API key" in p.message.text(), timeout=WAIT)
        assert "Civitai needs your API key" in p.rows[last_row(docker).key].text.text()
        # Typed and saved: the download goes through.
        p.civitai.setText(CIVITAI_KEY)
        qtbot.mouseClick(p.civitai_save, Qt.MouseButton.LeftButton)
        assert docker.session.secrets.get("civitai_token") == CIVITAI_KEY
        p.url.setText(link)
        qtbot.mouseClick(p.download, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: last_row(docker).state == "done", timeout=WAIT)
        assert last_row(docker).name == "civitai-4711-style.safetensors"
        assert (models / "loras" / "civitai-4711-style.safetensors").exists()
        # Sent to Civitai (for the size, then each ranged part), never to the file's host.
        assert civitai.seen[0] == "" and set(civitai.seen[1:]) == {f"Bearer {CIVITAI_KEY}"}

        async def file_host_log() -> list[dict]:
            async with aiohttp.ClientSession() as session, session.get(files + "/log") as r:
                return await r.json()

        seen_there = asyncio.run_coroutine_threadsafe(file_host_log(), servers.loop).result(10)
        mine = [e for e in seen_there if "civitai-4711" in e["path"]]
        assert mine and not [e for e in mine if e["auth"]]
    finally:
        servers.close()
    qtbot.waitUntil(
        lambda: docker.lora_box.pick.findText("civitai-4711-style.safetensors") >= 0,
        timeout=WAIT,
    )
    docker.save_settings()
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {"settings.json", "ai_diffusion.log"} <= {path.name for path in written}
    for path in [*written, gateway_log]:
        assert CIVITAI_KEY.encode() not in path.read_bytes(), path.name
    assert shown and not [text for text in shown if CIVITAI_KEY in text]
    assert p.civitai.echoMode() == p.civitai.EchoMode.Password


# Without the gateway -----------------------------------------------------------------------------


def test_a_plain_comfyui_gets_the_by_hand_text(qtbot, docker: DockerWidget, comfy: str) -> None:
    connect(qtbot, docker, comfy)
    p = panel(docker)
    assert docker.session.model_transfers.gateway == "no"
    assert p.by_hand.isVisible() and not p.gateway_part.isVisible()
    assert "ComfyUI/models/loras" in p.by_hand.text() and "this computer" in p.by_hand.text()
    p.folder.setCurrentIndex(p.folder.findData("checkpoints"))
    assert "ComfyUI/models/checkpoints" in p.by_hand.text()
    p.url.setText("https://example.org/a-lora.safetensors")
    p.download.click()  # hidden; even so nothing starts
    assert docker.session.model_transfers.transfers == ()


def test_the_by_hand_text_names_the_folder_and_an_scp_line() -> None:
    remote = by_hand_text("https://comfy.example.org:8443", "loras")
    assert "scp -P 22 my-lora.safetensors root@comfy.example.org:ComfyUI/models/loras/" in remote
    pod = by_hand_text("https://abc123xyz-3001.proxy.runpod.net", "loras")
    assert "/workspace/models/loras" in pod and "public IP and port" in pod
    assert "scp -P <port> my-lora.safetensors root@<public IP>:/workspace/models/loras/" in pod
    assert "Over SSH" in pod
    slim = by_hand_text("https://abc123xyz-8188.proxy.runpod.net", "checkpoints")
    assert "/workspace/runpod-slim/ComfyUI/models/checkpoints" in slim


def test_a_server_that_answers_nothing_gets_the_by_hand_text_with_its_host(
    qtbot, qt_loop, tmp_path: Path
) -> None:
    from tests.widgets.fake_client import FakeConnector

    widget = create_docker_widget(
        None, FakeDocuments([FakeDocument()]), tmp_path, SecretStore(use_system=False),
        FakeConnector(),
    )  # fmt: skip
    qtbot.addWidget(widget)
    widget.show()
    connect(qtbot, widget, "https://comfy.example.invalid")
    text = panel(widget).by_hand.text()
    assert "scp -P 22 my-lora.safetensors root@comfy.example.invalid:ComfyUI/models/loras/" in text
    widget.connect_button.click()
    qtbot.waitUntil(lambda: widget.session.model_transfers.gateway == "", timeout=WAIT)
    assert "Connect to a server first" in panel(widget).state.text()


def _screenshot(widget: DockerWidget, name: str) -> None:
    """The connection panel with "Add models" open, for docs/cloud-gpu.md."""
    OUTPUT.mkdir(exist_ok=True)
    widget.resize(300, max(900, widget.heightForWidth(300)))  # as the dock's scroll area does
    QtWidgets.QApplication.processEvents()
    widget.connection_section.grab().save(str(OUTPUT / name))


def test_the_open_models_section_fits_a_300_px_docker(qtbot, qt_loop, tmp_path: Path) -> None:
    widget = create_docker_widget(
        None, FakeDocuments([FakeDocument()]), tmp_path, SecretStore(use_system=False)
    )
    qtbot.addWidget(widget)
    widget.show()
    panel = widget.connection_section.panel
    panel.models_toggle.setChecked(True)
    panel.cloud_toggle.setChecked(True)
    widget.session.model_transfers.gateway = "yes"  # every control of the panel shown
    bar = widget.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
    assert widget.minimumSizeHint().width() <= 300 - bar
    # The toggles share the Cloud GPU row: closed, the panel is no taller than before.
    assert panel.models_toggle.y() == panel.cloud_toggle.y()
