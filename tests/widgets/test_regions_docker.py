"""Regions in the docker against the fake ComfyUI with a real client: two layers, each with a
prompt of its own, change their own parts of the picture; the rest follows the main prompt.
In a selection, only the regions that reach it count."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from ai_diffusion.qt import Qt
from ai_diffusion.request import Bounds
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state.document import LayerInfo
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.widgets.fake_document import FakeDocument, FakeDocuments
from tests.widgets.test_workflow_mode import WAIT, close_docker, served  # noqa: F401

W, H = 256, 192


def painted(x0: int, x1: int) -> np.ndarray:
    alpha = np.zeros((H, W), np.uint8)
    alpha[:, x0:x1] = 255
    return alpha


@pytest.fixture
def docker(qtbot, served, tmp_path: Path):  # noqa: F811
    document = FakeDocument(W, H)
    document.extra_layers = [
        LayerInfo("barn", "Barn", "paintlayer"),
        LayerInfo("sky", "Sky", "paintlayer"),
    ]
    document.painted = {"barn": painted(0, 96), "sky": painted(160, 256)}
    widget = create_docker_widget(
        None, FakeDocuments([document]), tmp_path / "settings", SecretStore(use_system=False)
    )
    widget.resize(300, 900)
    widget.show()
    widget.url.setText(served.url)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    widget.seed_random.setChecked(False)
    widget.canvas_changed()
    yield widget, document, served.fake
    close_docker(qtbot, widget)


def add_region(widget, layer: str, prompt: str) -> None:
    box = widget.region_box
    box.layer.setCurrentIndex(box.layer.findText(layer))
    row = box.add_current()
    assert row is not None
    row.prompt.setText(prompt)


def generate(qtbot, widget) -> np.ndarray:
    count = widget.history.count()
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.history.count() == count + 1, timeout=WAIT)
    data = widget.controller.results[-1].image.data
    return np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB")).astype(int)


def test_two_regions_change_two_areas(qtbot, docker) -> None:
    widget, document, fake = docker
    widget.lists.set_open(True)
    widget.prompt.setPlainText("a farm")
    plain = generate(qtbot, widget)
    add_region(widget, "Barn", "a red barn")
    add_region(widget, "Sky", "a stormy sky")
    qtbot.waitUntil(widget.region_box.rows[1].prompt.isVisible, timeout=WAIT)
    regional = generate(qtbot, widget)
    graph = fake.posted[-1]["prompt"]
    texts = {n["inputs"]["text"] for n in graph.values() if n["class_type"] == "CLIPTextEncode"}
    assert {"a red barn, a farm", "a stormy sky, a farm"} <= texts
    # The barn's and the sky's areas changed, each its own way; the middle did not.
    barn, sky, middle = (slice(16, 80)), (slice(176, 240)), (slice(112, 144))
    rows = slice(16, H - 16)
    assert np.abs(regional[rows, barn] - plain[rows, barn]).max() > 10
    assert np.abs(regional[rows, sky] - plain[rows, sky]).max() > 10
    assert np.abs(regional[rows, barn].mean((0, 1)) - regional[rows, sky].mean((0, 1))).max() > 5
    assert np.abs(regional[rows, middle] - plain[rows, middle]).max() <= 2
    # Removing a region takes it out of the next request.
    qtbot.mouseClick(widget.region_box.rows[1].remove, Qt.MouseButton.LeftButton)
    assert [r.prompt for r in widget.params().regions] == ["a red barn"]


def test_in_a_selection_only_the_regions_that_reach_it_count(qtbot, docker) -> None:
    widget, document, fake = docker
    add_region(widget, "Barn", "a red barn")
    add_region(widget, "Sky", "a stormy sky")
    document.selection = Bounds(8, 8, 40, 40)  # inside the barn, far from the sky
    widget.canvas_changed()
    widget.prompt.setPlainText("a farm")
    generate(qtbot, widget)
    graph = fake.posted[-1]["prompt"]
    texts = {n["inputs"]["text"] for n in graph.values() if n["class_type"] == "CLIPTextEncode"}
    assert "a red barn, a farm" in texts and "a stormy sky, a farm" not in texts


def test_a_deleted_region_layer_is_named_and_nothing_is_queued(qtbot, docker) -> None:
    widget, document, fake = docker
    add_region(widget, "Sky", "a stormy sky")
    document.extra_layers = [LayerInfo("barn", "Barn", "paintlayer")]
    widget.prompt.setPlainText("a farm")
    before = len(fake.posted)
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.wait(300)
    assert len(fake.posted) == before
    assert "region's layer was deleted" in widget.message.text()


def test_each_document_has_its_own_regions_and_keeps_them(qtbot, served, tmp_path) -> None:  # noqa: F811
    from ai_diffusion.state import regions as kept

    first, second = FakeDocument(W, H), FakeDocument(W, H)
    for document in (first, second):
        document.extra_layers = [LayerInfo("barn", "Barn", "paintlayer")]
    documents = FakeDocuments([first, second])
    widget = create_docker_widget(
        None, documents, tmp_path / "settings", SecretStore(use_system=False)
    )
    qtbot.addWidget(widget)
    widget.canvas_changed()
    add_region(widget, "Barn", "a red barn")
    documents.current = 1  # the painter switches to the other document
    widget.canvas_changed()
    assert widget.region_box.regions() == []
    add_region(widget, "Barn", "a haystack")
    documents.current = 0
    widget.canvas_changed()
    assert [r.prompt for r in widget.region_box.regions()] == ["a red barn"]
    # Kept in each document (a .kra brings them back): a new docker, as after a restart.
    assert [r.prompt for r in kept.decode(first.annotations[kept.ANNOTATION])] == ["a red barn"]
    assert [r.prompt for r in kept.decode(second.annotations[kept.ANNOTATION])] == ["a haystack"]
    again = create_docker_widget(
        None, FakeDocuments([first]), tmp_path / "settings2", SecretStore(use_system=False)
    )
    qtbot.addWidget(again)
    again.canvas_changed()
    [row] = again.region_box.rows
    assert (row.label.text(), row.prompt.text()) == ("Barn", "a red barn")
    # Removing the last region removes it from the document too.
    qtbot.mouseClick(row.remove, Qt.MouseButton.LeftButton)
    assert kept.ANNOTATION not in first.annotations


def test_damaged_regions_in_a_document_are_skipped() -> None:
    from ai_diffusion.state import regions as kept
    from ai_diffusion.state.params import LayerRegion

    assert kept.decode(b"{not json") == [] and kept.decode(b'{"version": 99}') == []
    regions = [LayerRegion("a", "a red barn, ünïcode"), LayerRegion("b", "sky")]
    assert kept.decode(kept.encode(regions)) == regions
