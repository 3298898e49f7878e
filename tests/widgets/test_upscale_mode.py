"""The docker's Upscale mode against the fake ComfyUI with a real client: the server's upscale
models, a factor and a refine; Generate upscales the canvas in one job whose progress counts
tiles, and the result lands on the canvas resized by the factor (or in a new document)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_diffusion import eventloop
from ai_diffusion.comfy.events import Progress
from ai_diffusion.qt import Qt
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state.observable import bind
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.comfy_fixtures import CHECKPOINT, start_server
from tests.fakes.executor import decode_png
from tests.widgets.fake_document import FakeDocument, FakeDocuments

WAIT = 30000
UPSCALER = "random-compact-4x.safetensors"


def run(qtbot, coro):
    task = eventloop.run(coro)
    qtbot.waitUntil(task.done, timeout=WAIT)
    return task.result()


@pytest.fixture
def served(qtbot, qt_loop):
    server = run(qtbot, start_server())
    yield server
    run(qtbot, server.runner.cleanup())


@pytest.fixture
def docker(qtbot, served, tmp_path: Path):
    document = FakeDocument(width=160, height=120)
    widget = create_docker_widget(
        None, FakeDocuments([document]), tmp_path / "settings", SecretStore(use_system=False)
    )
    widget.resize(300, 900)
    widget.show()
    widget.url.setText(served.url)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    widget.model_choice.select(CHECKPOINT)
    widget.model_choice.set_sampling("steps", 2)
    qtbot.mouseClick(widget.modes.buttons["upscale"], Qt.MouseButton.LeftButton)
    assert widget.modes.mode == "upscale" and widget.upscale_page.isVisible()
    yield widget, document, served
    widget.controller.disconnect_server()
    qtbot.waitUntil(lambda: widget.controller.client is None, timeout=WAIT)
    widget.close()


def test_upscale_with_refine_resizes_the_canvas_and_says_how_many_tiles(qtbot, docker) -> None:
    widget, document, served = docker
    page = widget.upscale_page
    assert page.model.isEnabled() and page.model.currentText() == UPSCALER
    page.factor.setValue(2.5)
    page.refine.setChecked(True)
    page.strength.setValue(40)
    assert page.size.text() == "160×120 → 400×300"
    messages: list[str] = []
    progress: list[Progress] = []
    bind(widget.controller, "message", messages.append)
    original = widget.controller.handle

    def spy(event):
        if isinstance(event, Progress):
            progress.append(event)
        original(event)

    widget.controller.handle = spy  # type: ignore[method-assign]
    widget.upscale.tile_size = 128
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(document.upscales), timeout=WAIT)

    name, image, new_document = document.upscales[0]
    assert (image.width, image.height) == (400, 300) and not new_document
    assert (document.width, document.height) == (400, 300)  # the canvas, resized
    assert document.layers_added[-1][0] == name and "×2.5" in name
    graph = served.fake.posted[-1]["prompt"]
    samplers = [i for i, n in graph.items() if n["class_type"] == "KSampler"]
    assert len(samplers) > 1
    # A job of several tiles is followed by asking the server: no step messages come.
    assert progress == []
    assert any(m.startswith(f"Refining {len(samplers)} tiles on the server") for m in messages)
    assert any(m.startswith("Upscaled to 400×300") for m in messages)
    assert widget.controller.results == []  # applied, not waiting in the strip
    assert decode_png(image.data).shape[:2] == (300, 400)


def test_upscale_into_a_new_document_leaves_this_one(qtbot, docker) -> None:
    widget, document, served = docker
    page = widget.upscale_page
    page.refine.setChecked(False)
    page.factor.setValue(2.0)
    page.target.setCurrentIndex(1)
    before = document.pixels.copy()
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(document.upscales), timeout=WAIT)
    _, image, new_document = document.upscales[0]
    assert new_document and (image.width, image.height) == (320, 240)
    assert (document.width, document.height) == (160, 120)
    assert np.array_equal(document.pixels, before)
    graph = served.fake.posted[-1]["prompt"]
    assert not any(n["class_type"] == "KSampler" for n in graph.values())


def test_a_refine_without_a_model_says_so(qtbot, docker) -> None:
    widget, document, _ = docker
    widget.model_choice.model = ""
    widget.upscale_page.refine.setChecked(True)
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    assert "Choose a model at the top" in widget.controller.message
    assert document.upscales == []
