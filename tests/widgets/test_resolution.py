"""The resolution choice in Advanced: automatic by default (the canvas sampled at about the
model family's own size), the family's size scaled, or the canvas's own size; it reaches the
graph the server runs, follows the model's family in its words, and Defaults restores it. The
result always lands on the canvas at the canvas's size."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_diffusion.qt import Qt
from ai_diffusion.request import Extent
from ai_diffusion.secrets import SecretStore
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.family_fixtures import family_object_info
from tests.widgets.fake_client import FakeConnector
from tests.widgets.fake_document import FakeDocument, FakeDocuments
from tests.widgets.test_docker_flow import connect, generate

SDXL = "sd_xl_base_1.0.safetensors"
FLUX = "flux1-dev.safetensors"


@pytest.fixture
def setup(qtbot, qt_loop, tmp_path: Path):
    documents = FakeDocuments([FakeDocument(width=1920, height=1080)])
    connector = FakeConnector()
    connector.object_info = family_object_info()
    widget = create_docker_widget(None, documents, tmp_path, SecretStore(use_system=False), connector)  # fmt: skip
    qtbot.addWidget(widget)
    widget.resize(300, 900)
    widget.show()
    connect(qtbot, widget)
    widget.prompt.setPlainText("a harbour at dawn")
    widget.advanced.set_open(True)
    return widget, connector


def latent_and_result(qtbot, widget, connector) -> tuple[Extent, Extent]:
    """Generate; the size of the empty latent the graph samples, and of the result it saves."""
    client = connector.clients[-1]
    generate(qtbot, widget, connector, len(client.enqueued) + 1)
    workflow = client.enqueued[-1]
    (latent,) = [
        node["inputs"]
        for node in workflow.graph.values()
        if node["class_type"].startswith("Empty") and "Latent" in node["class_type"]
    ]
    return Extent(latent["width"], latent["height"]), workflow.extent


def choose(widget, starts: str) -> None:
    box = widget.resolution
    (index,) = [i for i in range(box.count()) if box.itemText(i).startswith(starts)]
    box.setCurrentIndex(index)
    box.activated.emit(index)


def test_auto_shows_the_familys_size_and_samples_the_canvas_near_it(qtbot, setup) -> None:
    widget, connector = setup
    widget.checkpoint.setCurrentText(SDXL)
    assert widget.resolution.isVisibleTo(widget)
    assert widget.resolution.currentText() == "Auto: the model's size · 1024×1024 (SDXL)"
    latent, result = latent_and_result(qtbot, widget, connector)
    assert latent == Extent(1368, 768)  # ~1 megapixel, the canvas's 16:9
    assert result == Extent(1920, 1080)  # lands on the canvas at its size


def test_a_scale_changes_the_latent_not_where_the_result_lands(qtbot, setup) -> None:
    widget, connector = setup
    widget.checkpoint.setCurrentText(SDXL)
    choose(widget, "50%")
    assert widget.resolution.currentText() == "50% · 512×512: drafts, fast"
    latent, result = latent_and_result(qtbot, widget, connector)
    assert latent == Extent(680, 384)  # a quarter of the pixels
    assert result == Extent(1920, 1080)
    choose(widget, "150%")
    latent, _ = latent_and_result(qtbot, widget, connector)
    assert latent == Extent(2048, 1152)


def test_canvas_size_samples_the_canvas_as_it_is(qtbot, setup) -> None:
    widget, connector = setup
    widget.checkpoint.setCurrentText(SDXL)
    choose(widget, "Canvas size")
    latent, result = latent_and_result(qtbot, widget, connector)
    assert latent == result == Extent(1920, 1080)


def test_the_choice_stays_with_another_model_and_defaults_restore_auto(qtbot, setup) -> None:
    widget, connector = setup
    widget.checkpoint.setCurrentText(SDXL)
    choose(widget, "75%")
    widget.checkpoint.setCurrentText(FLUX)  # the painter's choice stays, in the new family's size
    assert widget.resolution.currentText() == "75% · 768×768"
    latent, _ = latent_and_result(qtbot, widget, connector)
    assert latent == Extent(1024, 576)  # Flux: multiples of 16
    qtbot.mouseClick(widget.model_picker.reset, Qt.MouseButton.LeftButton)
    assert widget.resolution.currentText() == "Auto: the model's size · 1024×1024 (Flux.1 dev)"
    latent, _ = latent_and_result(qtbot, widget, connector)
    assert latent == Extent(1360, 768)
