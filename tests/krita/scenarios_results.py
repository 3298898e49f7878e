"""Results kept with the document, in real Krita: generate on the fake ComfyUI, save the
document as .kra, close it, open it again: the docker shows the same result, and applying it
gives the same pixels. Also: keeping results is no step in Krita's undo history."""

import os

from krita import Krita
from scenarios import connected_panel

from ai_diffusion.qt import QtGui

DOCKER_ID = "ai_diffusion_docker"
CHECKPOINT = "random-sd15-tiny.safetensors"
RESULT_WAIT_MS = int(os.environ.get("AI_DIFFUSION_TEST_WAIT_S", "30")) * 1000


def _bgra(image):
    qimage = QtGui.QImage()
    assert qimage.loadFromData(image.data)
    qimage = qimage.convertToFormat(QtGui.QImage.Format.Format_ARGB32)
    return bytes(qimage.constBits().asarray(qimage.bytesPerLine() * qimage.height()))


def _show(app, doc):
    app.activeWindow().addView(doc)
    app.setActiveDocument(doc)


def kept_results_after_reopen(driver):
    from ai_diffusion.krita_adapter.document import KritaDocument
    from ai_diffusion.state import results_store

    app = Krita.instance()
    # Writing the annotation is no undo step (a new document's history is empty).
    probe = app.createDocument(64, 64, "probe", "RGBA", "U8", "", 72.0)
    _show(app, probe)
    yield 1000
    undo = app.action("edit_undo")
    driver.result["undo_before_write"] = [undo.isEnabled(), undo.text()]
    KritaDocument(probe).write_annotation(results_store.ANNOTATION, b"kept")
    yield 1500  # Krita 6 puts commands on the undo stack once the image processed them
    driver.result["undo_after_write"] = [undo.isEnabled(), undo.text()]
    undo.trigger()  # were it an undo step, Undo would take the kept results away
    yield 500
    kept = KritaDocument(probe).read_annotation(results_store.ANNOTATION)
    driver.result["kept_after_undo"] = None if kept is None else kept.decode()
    driver.result["modified_after_write"] = probe.modified()
    probe.setModified(False)
    probe.close()
    yield 500

    doc = app.createDocument(256, 192, "kept", "RGBA", "U8", "", 72.0)
    doc.rootNode().childNodes()[0].setPixelData(
        bytes([40, 90, 200, 255]) * (256 * 192), 0, 0, 256, 192
    )
    doc.refreshProjection()
    _show(app, doc)
    panel = yield from connected_panel(driver)
    yield (lambda: panel.checkpoint.findText(CHECKPOINT) >= 0, 20000, "the model list")
    panel.checkpoint.setCurrentText(CHECKPOINT)
    panel.prompt.setPlainText("a lighthouse at dusk")
    panel.model_picker.steps.setValue(3)
    panel.seed_random.setChecked(False)
    panel.seed.setValue(11)
    panel.generate_button.click()
    yield (lambda: panel.history.count() == 1, RESULT_WAIT_MS, "the result")
    result = panel.controller.history()[0]
    expected = _bgra(result.image)
    driver.result["tooltip_before"] = panel.history.item(0).toolTip()
    driver.result["modified_after_result"] = doc.modified()
    # A region goes with the document too (its layer found again by the id Krita keeps).
    panel.lists.set_open(True)
    box = panel.region_box
    box.layer.setCurrentIndex(box.layer.findText("Background"))
    box.add_current().prompt.setText("the sea at dusk")
    yield 300

    path = os.path.join(os.environ["AI_DIFFUSION_TEST_OUTPUT"], "kept.kra")
    doc.setBatchmode(True)  # no dialogs
    assert doc.saveAs(path), path
    doc.setBatchmode(False)
    doc.close()
    yield 1000
    driver.result["history_after_close"] = panel.history.count()

    reopened = app.openDocument(path)
    assert reopened is not None, path
    _show(app, reopened)
    yield (lambda: panel.history.count() == 1, 10000, "the kept result after reopening")
    driver.result["tooltip_after"] = panel.history.item(0).toolTip()
    yield (lambda: len(panel.region_box.rows) == 1, 5000, "the kept region")
    row = panel.region_box.rows[0]
    driver.result["region_after"] = [row.label.text(), row.prompt.text()]
    driver.result["modified_after_reopen"] = reopened.modified()
    panel.history.setCurrentRow(0)
    panel.apply_button.click()
    yield 1000
    layers = [n for n in reopened.rootNode().childNodes() if n.name().startswith("[AI] a light")]
    driver.result["applied"] = [n.name() for n in layers]
    assert len(layers) == 1, [n.name() for n in reopened.rootNode().childNodes()]
    b = result.bounds
    driver.result["same_pixels"] = (
        bytes(layers[0].pixelData(b.x, b.y, b.width, b.height)) == expected
    )
    yield 500
    driver.screenshot("krita-kept-results.png")
    reopened.setModified(False)
