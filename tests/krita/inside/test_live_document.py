"""Runs inside Krita (kritarunner): what live painting needs from the document adapter."""

from krita import Krita, Selection

from ai_diffusion.krita_adapter.document import LIVE_LAYER, KritaDocument
from ai_diffusion.qt import QtGui
from ai_diffusion.request import Bounds, Extent, Image


def _document(width=64, height=48):
    return Krita.instance().createDocument(width, height, "live", "RGBA", "U8", "", 72.0)


def _fill(doc, bgra, node=None):
    layer = node or doc.rootNode().childNodes()[0]
    layer.setPixelData(bytes(bgra) * (doc.width() * doc.height()), 0, 0, doc.width(), doc.height())
    doc.refreshProjection()
    doc.waitForDone()
    return layer


def _png(width, height, rgba) -> Image:
    from ai_diffusion.krita_adapter.document import _png as encode

    qimage = QtGui.QImage(width, height, QtGui.QImage.Format.Format_ARGB32)
    qimage.fill(QtGui.QColor(*rgba))
    return Image(encode(qimage), width, height)


def _rgba(image: Image, x=2, y=2):
    qimage = QtGui.QImage()
    assert qimage.loadFromData(image.data)
    c = qimage.pixelColor(x, y)
    return (c.red(), c.green(), c.blue(), c.alpha())


def _names(doc):
    return [n.name() for n in doc.rootNode().childNodes()]


def test_the_canvas_key_follows_strokes_visibility_and_selection_but_not_the_live_layer():
    doc = _document()
    layer = _fill(doc, [0, 0, 255, 255])
    adapter = KritaDocument(doc)
    key = adapter.canvas_key()
    assert adapter.canvas_key() == key  # nothing changed
    adapter.show_live(_png(64, 48, (0, 255, 0, 255)), Bounds(0, 0, 64, 48))
    doc.waitForDone()
    assert adapter.canvas_key() == key  # our own layer is not a change
    layer.setPixelData(bytes([255, 0, 0, 255]) * 16, 10, 10, 4, 4)  # a small dab
    doc.refreshProjection()
    doc.waitForDone()
    stroked = adapter.canvas_key()
    assert stroked != key
    layer.setVisible(False)
    assert adapter.canvas_key() != stroked
    layer.setVisible(True)
    selection = Selection()
    selection.select(4, 4, 20, 10, 255)
    doc.setSelection(selection)
    assert adapter.canvas_key() != stroked
    doc.close()


def test_reading_hides_the_live_layer_and_it_stays_on_top():
    doc = _document()
    _fill(doc, [0, 0, 255, 255])  # red painting
    adapter = KritaDocument(doc)
    adapter.show_live(_png(64, 48, (0, 255, 0, 255)), Bounds(0, 0, 64, 48))
    doc.waitForDone()
    assert _names(doc)[-1] == LIVE_LAYER
    assert _rgba(adapter.read_image(Bounds(0, 0, 64, 48))) == (255, 0, 0, 255)
    live = doc.rootNode().childNodes()[-1]
    assert live.name() == LIVE_LAYER and live.visible()  # shown again after the read
    scaled = adapter.read_image(Bounds(0, 0, 64, 48), Extent(32, 24))
    assert (scaled.width, scaled.height) == (32, 24) and _rgba(scaled) == (255, 0, 0, 255)
    assert LIVE_LAYER not in [layer.name for layer in adapter.layers()]
    # A layer the painter adds goes above: the next update puts the live layer on top again.
    doc.rootNode().addChildNode(doc.createNode("new", "paintlayer"), None)
    adapter.show_live(_png(64, 48, (0, 0, 255, 255)), Bounds(0, 0, 64, 48))
    assert _names(doc)[-1] == LIVE_LAYER and _names(doc).count(LIVE_LAYER) == 1
    layer_id = adapter.apply_result(_png(64, 48, (9, 9, 9, 255)), Bounds(0, 0, 64, 48), "kept")
    assert layer_id and "kept" in _names(doc)
    adapter.hide_live()
    assert LIVE_LAYER not in _names(doc)
    doc.close()
