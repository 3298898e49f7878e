"""The docker's widgets with a fake document, a real client and the fake ComfyUI server."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pytest
from PIL import Image as PILImage

from ai_diffusion.comfy.events import Finished
from ai_diffusion.qt import Qt
from ai_diffusion.request import Bounds, GenerationRequest, Mode, Sampling
from ai_diffusion.secrets import SecretStore
from ai_diffusion.settings import Settings
from ai_diffusion.state.controller import Controller, Job
from ai_diffusion.state.params import Params
from ai_diffusion.ui.docker_widget import create_docker_widget
from ai_diffusion.workflow import inpaint_region
from tests.comfy_fixtures import CHECKPOINT
from tests.widgets.fake_document import FakeDocument, FakeDocuments


@pytest.fixture
def docker(qtbot, qt_loop, tmp_path: Path):
    documents = FakeDocuments([FakeDocument()])
    widget = create_docker_widget(None, documents, tmp_path, SecretStore(use_system=False))
    qtbot.addWidget(widget)
    widget.show()
    return widget, documents


def _connect(qtbot, widget, url: str) -> None:
    widget.url.setText(url)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state in ("connected", "error"), timeout=15000)


def test_connect_generate_and_apply_a_result(qtbot, docker, fake_server: str) -> None:
    widget, documents = docker
    _connect(qtbot, widget, fake_server)
    assert widget.status.text().startswith("Connected")
    assert CHECKPOINT in [widget.checkpoint.itemText(i) for i in range(widget.checkpoint.count())]
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a lighthouse at dusk")
    widget.model_picker.steps.setValue(2)
    widget.batch.setValue(2)
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.history.count() == 2, timeout=20000)
    assert widget.progress.value() == widget.progress.maximum() == 2
    assert "Done" in widget.message.text()
    document = documents.active()
    assert document.previews  # live previews went to the canvas
    widget.history.setCurrentRow(0)
    qtbot.mouseClick(widget.apply_button, Qt.MouseButton.LeftButton)
    name, bounds, image = document.layers_added[0]
    assert bounds == Bounds(0, 0, 256, 192) and (image.width, image.height) == (256, 192)
    assert name.startswith("[AI] a lighthouse at dusk (")


def test_inpaint_sends_only_the_selection_context(qtbot, docker) -> None:
    widget, documents = docker
    document = FakeDocument(width=1024, height=1024, selection=Bounds(600, 500, 64, 48))
    controller = Controller(FakeDocuments([document]))
    request, bounds = controller.build_request(
        document,
        Params(GenerationRequest(CHECKPOINT, "a hat", strength=0.7, sampling=Sampling(seed=5))),
    )
    assert request.mode is Mode.inpaint
    assert bounds == inpaint_region(document.extent(), document.selection)
    assert (
        (request.image.width, request.image.height) == (bounds.width, bounds.height) != (1024, 1024)
    )
    assert request.strength == 0.7 and request.sampling.seed == 5
    mask = PILImage.open(io.BytesIO(request.mask.data))
    assert mask.size == (bounds.width, bounds.height) and mask.getextrema() == (0, 255)


def test_refine_without_selection_sends_the_canvas(qtbot, docker) -> None:
    document = FakeDocument()
    controller = Controller(FakeDocuments([document]))
    params = Params(GenerationRequest(CHECKPOINT, "x", strength=0.4), random_seed=True)
    request, _ = controller.build_request(document, params)
    assert request.mode is Mode.img2img and request.image.width == 256


def test_connection_error_is_shown_in_words(qtbot, docker) -> None:
    widget, _ = docker
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _connect(qtbot, widget, f"127.0.0.1:{port}")
    assert widget.controller.state == "error"
    assert "connection refused" in widget.status.text()


def test_generate_without_connection_says_what_to_do(qtbot, docker) -> None:
    widget, _ = docker
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Connect to a server first" in widget.message.text(), timeout=5000)


def test_results_of_a_closed_document_are_dropped(qtbot, qt_loop) -> None:
    kept, closed = FakeDocument(), FakeDocument()
    documents = FakeDocuments([kept, closed])
    controller = Controller(documents)
    controller.jobs["j1"] = Job("j1", closed.id, Bounds(0, 0, 8, 8), "p", 1)
    controller.jobs["j2"] = Job("j2", kept.id, Bounds(0, 0, 8, 8), "p", 1)
    closed.open = False
    png = io.BytesIO()
    PILImage.new("RGBA", (8, 8)).save(png, "PNG")
    controller.handle(Finished("j1", [png.getvalue()]))
    controller.handle(Finished("j2", [png.getvalue()]))
    assert [r.document_id for r in controller.results] == [kept.id]
    # Switching documents shows each document's own results.
    documents.current = 1
    assert controller.history() == []


def test_settings_remember_the_server_but_never_the_token(
    qtbot, docker, tmp_path: Path, fake_server: str
) -> None:
    widget, _ = docker
    widget.url.setText(fake_server)
    widget.token.setText("very-secret-token-123")
    widget.save_settings()
    text = (tmp_path / "settings.json").read_text()
    assert fake_server in text and "very-secret-token-123" not in text
    assert Settings.load(tmp_path).server_url == fake_server
    assert widget.secrets.get("server_token") == "very-secret-token-123"


def test_corrupt_settings_fall_back_to_defaults_and_keep_a_copy(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{not json")
    assert Settings.load(tmp_path) == Settings()
    assert (tmp_path / "settings.json.bak").read_text() == "{not json"
    (tmp_path / "settings.json").write_text(json.dumps({"steps": "many", "server_url": "x"}))
    loaded = Settings.load(tmp_path)
    assert loaded.batch_size == 1 and loaded.server_url == "x"


def test_the_prompts_come_back_when_krita_starts_again(
    qtbot, docker, tmp_path: Path, fake_server: str
) -> None:
    """Generate keeps the prompts, and so does starting live painting; a new docker over the
    same settings (Krita started again) shows them."""
    widget, documents = docker
    _connect(qtbot, widget, fake_server)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a lighthouse at dusk")
    widget.negative.setPlainText("blurry")
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    widget.live_panel.prompt.setPlainText("a red barn in snow")
    widget.live_panel.start.click()
    assert widget.live.active
    widget.live.stop()
    again = create_docker_widget(None, documents, tmp_path, SecretStore(use_system=False))
    qtbot.addWidget(again)
    assert again.prompt.toPlainText() == "a lighthouse at dusk"
    assert again.negative.toPlainText() == "blurry"
    assert again.live_panel.prompt.toPlainText() == "a red barn in snow"
