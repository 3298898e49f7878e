"""The docker driving an Automatic1111 WebUI (the fake, in its own process): the pasted
address is recognised, its models are offered, and an inpaint result lands under the
selection's feather."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from ai_diffusion.qt import Qt
from ai_diffusion.request import Bounds
from ai_diffusion.secrets import SecretStore
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.widgets.fake_document import FakeDocument, FakeDocuments


@pytest.fixture
def docker(qtbot, qt_loop, tmp_path):
    document = FakeDocument(width=512, height=512, selection=Bounds(200, 180, 80, 60))
    documents = FakeDocuments([document])
    widget = create_docker_widget(None, documents, tmp_path, SecretStore(use_system=False))
    qtbot.addWidget(widget)
    widget.show()
    return widget, document


def test_connect_to_a_webui_and_inpaint(qtbot, docker, fake_webui_server: str) -> None:
    widget, document = docker
    widget.url.setText(fake_webui_server)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state in ("connected", "error"), timeout=15000)
    assert widget.controller.state == "connected", widget.status.text()
    assert "Automatic1111" in widget.controller.device
    checkpoints = [widget.checkpoint.itemText(i) for i in range(widget.checkpoint.count())]
    assert "dreamshaper_8.safetensors" in checkpoints
    widget.checkpoint.setCurrentText("dreamshaper_8.safetensors")
    widget.prompt.setPlainText("a red door")
    widget.model_picker.steps.setValue(2)
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.history.count() == 1, timeout=30000)
    widget.history.setCurrentRow(0)
    qtbot.mouseClick(widget.apply_button, Qt.MouseButton.LeftButton)
    name, bounds, image = document.layers_added[0]
    assert name.startswith("[AI] a red door (")
    alpha = np.asarray(PILImage.open(io.BytesIO(image.data)).convert("RGBA"))[..., 3]
    # Opaque over the selection, transparent far from it: only the feather is changed.
    sx, sy = 200 - bounds.x, 180 - bounds.y
    scale_y, scale_x = alpha.shape[0] / bounds.height, alpha.shape[1] / bounds.width
    inside = alpha[int((sy + 30) * scale_y), int((sx + 40) * scale_x)]
    assert inside == 255 and alpha[0, 0] == 0
