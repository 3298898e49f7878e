"""Runs inside Krita (kritarunner): results kept in a document's annotation survive saving the
document as .kra, closing it and opening it again, and applying one gives the same pixels."""

import os
import tempfile
import zipfile

from krita import Krita

from ai_diffusion.krita_adapter.document import KritaDocument, _png
from ai_diffusion.qt import QtGui
from ai_diffusion.request import Bounds, Image
from ai_diffusion.state import results_store
from ai_diffusion.state.results_store import KeptResult

KEY = results_store.ANNOTATION


def _noise_png(width, height, seed):
    """An RGBA image whose pixels all differ (opaque: Krita stores colours, not premultiplied)."""
    qimage = QtGui.QImage(width, height, QtGui.QImage.Format.Format_ARGB32)
    for y in range(height):
        for x in range(width):
            value = (x * 7919 + y * 104729 + seed * 31) & 0xFFFFFF
            qimage.setPixel(x, y, 0xFF000000 | value)
    return Image(_png(qimage), width, height)


def _pixels(node, bounds):
    return bytes(node.pixelData(bounds.x, bounds.y, bounds.width, bounds.height))


def _bgra(image):
    qimage = QtGui.QImage()
    assert qimage.loadFromData(image.data)
    qimage = qimage.convertToFormat(QtGui.QImage.Format.Format_ARGB32)
    size = qimage.bytesPerLine() * qimage.height()
    return bytes(qimage.constBits().asarray(size))


def _folder():
    base = os.environ.get("AI_DIFFUSION_TEST_OUTPUT") or None
    return tempfile.mkdtemp(prefix="kept-", dir=base)


def test_kept_results_survive_save_close_and_reopen_and_apply_the_same_pixels():
    app = Krita.instance()
    doc = app.createDocument(64, 48, "kept", "RGBA", "U8", "", 72.0)
    adapter = KritaDocument(doc)
    assert adapter.read_annotation(KEY) is None
    results = [
        KeptResult(_noise_png(40, 30, i), Bounds(8, 6, 40, 30), f"[AI] fox ({i})", "fox", i, "Ink")
        for i in range(3)
    ]
    data = results_store.encode(results)
    assert not doc.modified()
    adapter.write_annotation(KEY, data)
    assert doc.modified()  # Krita's own doing: closing the document asks to save
    path = os.path.join(_folder(), "kept.kra")
    doc.setBatchmode(True)
    assert doc.saveAs(path)
    with zipfile.ZipFile(path) as kra:  # where Krita keeps it inside the .kra
        assert f"kept/annotations/{KEY}" in kra.namelist()
    doc.close()

    reopened = app.openDocument(path)
    assert reopened is not None
    again = KritaDocument(reopened)
    assert again.read_annotation(KEY) == data
    assert not reopened.modified()
    kept = results_store.decode(again.read_annotation(KEY))
    assert kept == results
    layer = again.apply_result(kept[1].image, kept[1].bounds, kept[1].name)
    node = next(n for n in reopened.rootNode().childNodes() if n.uniqueId().toString() == layer)
    assert node.name() == "[AI] fox (1)"
    assert _pixels(node, kept[1].bounds) == _bgra(results[1].image)
    reopened.close()


def test_writing_nothing_removes_the_kept_results():
    doc = Krita.instance().createDocument(16, 16, "empty", "RGBA", "U8", "", 72.0)
    adapter = KritaDocument(doc)
    adapter.write_annotation(KEY, b"abc")
    assert adapter.read_annotation(KEY) == b"abc"
    adapter.write_annotation(KEY, b"")
    assert adapter.read_annotation(KEY) is None and KEY not in doc.annotationTypes()
    adapter.write_annotation(KEY, b"")  # nothing there: still fine
    doc.close()
