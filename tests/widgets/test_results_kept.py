"""Results are kept inside the document: saved with it and back when it is opened again."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from ai_diffusion.comfy.events import Finished
from ai_diffusion.qt import Qt
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state import results_store
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.widgets.fake_client import CHECKPOINT, FakeConnector
from tests.widgets.fake_document import FakeDocument, FakeDocuments
from tests.widgets.test_docker_flow import WAIT, connect, generate

KEY = results_store.ANNOTATION


def noisy_png(width: int, height: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 4), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(data)).convert("RGBA"))


def docker(qtbot, folder: Path, documents: FakeDocuments):
    connector = FakeConnector()
    widget = create_docker_widget(None, documents, folder, SecretStore(use_system=False), connector)
    qtbot.addWidget(widget)
    widget.show()
    return widget, connector


def reopened(document: FakeDocument) -> FakeDocument:
    """The same file opened again: a new document (a new id) with what was saved in it."""
    return FakeDocument(title=document.title, annotations=dict(document.annotations))


@pytest.fixture
def painted(qtbot, qt_loop, tmp_path: Path):
    """A docker that generated two results (seeds 42, 43) on a document."""
    documents = FakeDocuments([FakeDocument()])
    widget, connector = docker(qtbot, tmp_path / "first", documents)
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a lighthouse at dusk")
    widget.seed_random.setChecked(False)
    widget.seed.setValue(42)
    widget.batch.setValue(2)
    job = generate(qtbot, widget, connector, 1)
    images = [noisy_png(256, 192, 1), noisy_png(256, 192, 2)]
    connector.clients[-1].push(Finished(job, images))
    qtbot.waitUntil(lambda: widget.history.count() == 2, timeout=WAIT)
    return widget, documents.documents[0], images, connector


def test_finished_results_are_written_into_the_document(painted) -> None:
    _, document, images, _ = painted
    kept = results_store.decode(document.annotations[KEY])
    assert [r.image.data for r in kept] == images
    assert [r.name for r in kept] == [
        "[AI] a lighthouse at dusk (42)",
        "[AI] a lighthouse at dusk (43)",
    ]
    assert [(r.prompt, r.seed) for r in kept] == [
        ("a lighthouse at dusk", 42),
        ("a lighthouse at dusk", 43),
    ]
    assert document.modified  # closing it asks to save, as after a stroke


def test_a_reopened_document_shows_the_same_results_and_apply_gives_the_same_pixels(
    qtbot, painted, tmp_path: Path
) -> None:
    first, document, images, _ = painted
    tips = [first.history.item(i).toolTip() for i in range(2)]
    again = reopened(document)
    widget, _ = docker(qtbot, tmp_path / "second", FakeDocuments([again]))
    widget.canvas_changed()  # Krita calls it when the opened document's view becomes active
    assert widget.history.count() == 2
    assert [widget.history.item(i).toolTip() for i in range(2)] == tips
    assert not again.modified  # reading them back changes nothing in the document
    widget.history.setCurrentRow(1)
    qtbot.mouseClick(widget.apply_button, Qt.MouseButton.LeftButton)
    name, bounds, image = again.layers_added[0]
    assert name == "[AI] a lighthouse at dusk (43)" and (bounds.width, bounds.height) == (256, 192)
    assert np.array_equal(pixels(image.data), pixels(images[1]))


def test_discarding_updates_what_the_document_keeps(qtbot, painted, tmp_path: Path) -> None:
    widget, document, images, _ = painted
    widget.history.setCurrentRow(0)
    qtbot.mouseClick(widget.discard_button, Qt.MouseButton.LeftButton)
    assert [r.image.data for r in results_store.decode(document.annotations[KEY])] == images[1:]
    widget.history.setCurrentRow(0)
    qtbot.mouseClick(widget.discard_button, Qt.MouseButton.LeftButton)
    assert KEY not in document.annotations  # nothing left: nothing kept


def test_new_results_in_a_reopened_document_join_the_kept_ones(
    qtbot, painted, tmp_path: Path
) -> None:
    _, document, images, _ = painted
    again = reopened(document)
    widget, connector = docker(qtbot, tmp_path / "second", FakeDocuments([again]))
    connect(qtbot, widget)  # connecting lists the models and shows the document's results
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a boat")
    widget.batch.setValue(1)
    job = generate(qtbot, widget, connector, 1)
    new = noisy_png(256, 192, 3)
    connector.clients[-1].push(Finished(job, [new]))
    qtbot.waitUntil(lambda: widget.history.count() == 3, timeout=WAIT)
    kept = results_store.decode(again.annotations[KEY])
    assert [r.image.data for r in kept] == [*images, new]


def test_results_generated_before_the_document_was_looked_at_keep_the_older_ones(
    qtbot, painted, tmp_path: Path
) -> None:
    """A job finishing on a reopened document the docker never showed must not overwrite
    what the document kept."""
    _, document, images, _ = painted
    again = reopened(document)
    documents = FakeDocuments([FakeDocument(), again])
    widget, connector = docker(qtbot, tmp_path / "second", documents)
    connect(qtbot, widget)
    controller = widget.controller
    controller.jobs["job-x"] = _job("job-x", again.id)
    controller.handle(Finished("job-x", [noisy_png(256, 192, 4)]))
    kept = results_store.decode(again.annotations[KEY])
    assert [r.image.data for r in kept][:2] == images and len(kept) == 3


def test_damaged_kept_results_are_skipped_and_the_docker_works(qtbot, qt_loop, tmp_path) -> None:
    document = FakeDocument(annotations={KEY: b"PK\x03\x04 damaged"})
    widget, connector = docker(qtbot, tmp_path, FakeDocuments([document]))
    widget.canvas_changed()
    assert widget.history.count() == 0 and "Something went wrong" not in widget.message.text()
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    job = generate(qtbot, widget, connector, 1)
    connector.clients[-1].push(Finished(job, [noisy_png(256, 192, 5)]))
    qtbot.waitUntil(lambda: widget.history.count() == 1, timeout=WAIT)
    assert len(results_store.decode(document.annotations[KEY])) == 1


def _job(job_id: str, document_id: str):
    from ai_diffusion.request import Bounds
    from ai_diffusion.state.controller import Job

    return Job(job_id, document_id, Bounds(0, 0, 256, 192), "late", 7)
