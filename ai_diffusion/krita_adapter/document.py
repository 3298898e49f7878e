"""Krita documents behind the state layer's document protocols.

The only module that reads or writes Krita pixels. Pixel facts (Krita 5): for an RGBA/U8
document ``pixelData`` bytes are BGRA, row-major, which is QImage's ARGB32 layout on
little-endian machines; after writing, ``refreshProjection()`` and ``waitForDone()``.
Documents in other colour spaces are read through an RGBA 8-bit clone, and results are written
as RGBA 8-bit layers (Krita converts them when compositing), so every document works.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

from krita import Document, Krita, Node

from ..canvas import LayerInfo
from ..errors import UserError
from ..qt import QtCore, QtGui
from ..request import Bounds, Extent, Image
from .upscaled import add_layer, open_new_document, scale_document, whole

log = logging.getLogger(__name__)

PREVIEW_LAYER = "[AI] preview"
LIVE_LAYER = "[AI] live"
OUR_LAYERS = (PREVIEW_LAYER, LIVE_LAYER)
# Change detection reads every top-level layer: larger ones through a 1024 px thumbnail.
KEY_PIXELS = 2048 * 2048
RGBA8 = ("RGBA", "U8")
SRGB = "sRGB-elle-V2-srgbtrc.icc"  # Krita's built-in sRGB profile
ARGB32 = QtGui.QImage.Format.Format_ARGB32


def _png(image: Any) -> bytes:
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def _bgra_to_image(data: bytes, width: int, height: int, size: Extent | None = None) -> Image:
    qimage = QtGui.QImage(data, width, height, width * 4, ARGB32)
    if size is not None and (size.width, size.height) != (width, height):
        qimage = qimage.scaled(
            size.width,
            size.height,
            QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
            QtCore.Qt.TransformationMode.SmoothTransformation,
        )
        width, height = size.width, size.height
    return Image(_png(qimage), width, height)


def _image_to_bgra(image: Image, bounds: Bounds) -> bytes:
    qimage = QtGui.QImage()
    if not qimage.loadFromData(image.data):
        raise UserError(
            "An image from the server could not be read (damaged in transfer or an unknown "
            "format). Generate again; if it keeps happening, report it with the log file."
        )
    if (qimage.width(), qimage.height()) != (bounds.width, bounds.height):
        qimage = qimage.scaled(
            bounds.width,
            bounds.height,
            QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
            QtCore.Qt.TransformationMode.SmoothTransformation,
        )
    qimage = qimage.convertToFormat(ARGB32)
    size = qimage.bytesPerLine() * qimage.height()
    return bytes(qimage.constBits().asarray(size))


def _convert(target: Any) -> None:
    """Convert a cloned document or a duplicated layer to RGBA 8-bit in place."""
    if not target.setColorSpace(*RGBA8, SRGB):
        raise UserError(
            "Krita could not convert this image to RGB 8-bit for generation. Convert it with "
            "Image › Convert Image Color Space (RGB/Alpha, 8-bit integer) and try again."
        )


def _walk(node: Node) -> list[Node]:
    nodes = []
    for child in node.childNodes():
        nodes.append(child)
        nodes.extend(_walk(child))
    return nodes


class KritaDocument:
    def __init__(self, document: Document) -> None:
        self.document = document
        self._id = document.rootNode().uniqueId().toString()

    @property
    def id(self) -> str:
        return self._id

    @property
    def title(self) -> str:
        return self.document.name() or "untitled"

    def is_open(self) -> bool:
        return any(KritaDocument(d).id == self._id for d in Krita.instance().documents())

    def is_rgba8(self) -> bool:
        return (self.document.colorModel(), self.document.colorDepth()) == RGBA8

    def extent(self) -> Extent:
        return Extent(self.document.width(), self.document.height())

    def selection_bounds(self) -> Bounds | None:
        selection = self.document.selection()
        if selection is None or selection.width() <= 0 or selection.height() <= 0:
            return None
        return Bounds(selection.x(), selection.y(), selection.width(), selection.height())

    def selection_mask(self, bounds: Bounds) -> Image:
        selection = self.document.selection()
        if selection is None:
            raise UserError("There is no selection to inpaint.")
        data = selection.pixelData(bounds.x, bounds.y, bounds.width, bounds.height)
        qimage = QtGui.QImage(
            bytes(data),
            bounds.width,
            bounds.height,
            bounds.width,
            QtGui.QImage.Format.Format_Grayscale8,
        )
        return Image(_png(qimage), bounds.width, bounds.height)

    def read_image(self, bounds: Bounds, size: Extent | None = None) -> Image:
        """Other colour models and depths (grey, CMYK, 16-bit, float) are read through an
        RGBA 8-bit copy; the painter's document is not changed. The live preview layer is
        hidden while the image is read."""
        live = self._top_node(LIVE_LAYER)
        if live is None or not live.visible():
            return self._read_image(bounds, size)
        live.setVisible(False)
        self.document.refreshProjection()
        self.document.waitForDone()
        try:
            return self._read_image(bounds, size)
        finally:
            live.setVisible(True)
            self.document.refreshProjection()

    def _read_image(self, bounds: Bounds, size: Extent | None) -> Image:
        source = self.document
        if not self.is_rgba8():
            source = self.document.clone()
            source.setBatchmode(True)
        try:
            if source is not self.document:
                _convert(source)
                source.refreshProjection()
                source.waitForDone()
            data = source.pixelData(bounds.x, bounds.y, bounds.width, bounds.height)
        finally:
            if source is not self.document:
                source.close()
        return _bgra_to_image(bytes(data), bounds.width, bounds.height, size)

    def layers(self) -> list[LayerInfo]:
        return [
            LayerInfo(n.uniqueId().toString(), n.name(), n.type())
            for n in _walk(self.document.rootNode())
            if n.name() not in OUR_LAYERS
        ]

    def _node(self, layer_id: str) -> Node | None:
        return next(
            (n for n in _walk(self.document.rootNode()) if n.uniqueId().toString() == layer_id),
            None,
        )

    def read_layer(self, layer_id: str, bounds: Bounds) -> Image:
        node = self._node(layer_id)
        if node is None:
            raise UserError("A ControlNet layer was deleted. Remove it from the ControlNet list.")
        if (node.colorModel(), node.colorDepth()) != RGBA8:
            node = node.duplicate()  # a copy outside the image, converted to RGBA 8-bit
            _convert(node)
        data = node.projectionPixelData(bounds.x, bounds.y, bounds.width, bounds.height)
        return _bgra_to_image(bytes(data), bounds.width, bounds.height)

    def layer_mask(self, layer_id: str, bounds: Bounds) -> Image | None:
        """The layer's alpha (its projection: a group's children together) as a grey PNG."""
        node = self._node(layer_id)
        if node is None:
            raise UserError(
                "A region's layer was deleted. Remove the region from the Regions list, or "
                "pick another layer for it."
            )
        if (node.colorModel(), node.colorDepth()) != RGBA8:
            node = node.duplicate()
            _convert(node)
        data = bytes(node.projectionPixelData(bounds.x, bounds.y, bounds.width, bounds.height))
        alpha = data[3::4]  # BGRA
        if not any(alpha):
            return None
        qimage = QtGui.QImage(
            alpha, bounds.width, bounds.height, bounds.width, QtGui.QImage.Format.Format_Grayscale8
        )
        return Image(_png(qimage), bounds.width, bounds.height)

    def _top_node(self, name: str) -> Node | None:
        return next((n for n in self.document.rootNode().childNodes() if n.name() == name), None)

    def _above_painting(self, node: Node) -> bool:
        """Whether only our own layers lie above ``node``."""
        children = self.document.rootNode().childNodes()
        ids = [n.uniqueId() for n in children]
        above = children[ids.index(node.uniqueId()) + 1 :]
        return all(n.name() in OUR_LAYERS for n in above)

    def _top_painting_node(self) -> Node | None:
        painting = [n for n in self.document.rootNode().childNodes() if n.name() not in OUR_LAYERS]
        return painting[-1] if painting else None

    def _preview_node(self) -> Node | None:
        return self._top_node(PREVIEW_LAYER)

    def canvas_key(self) -> object:
        """Selection, and per top-level layer (our own excluded): id, visibility, opacity,
        blending and a checksum of its pixels (groups include their children)."""
        width, height = self.document.width(), self.document.height()
        key: list[object] = [self.selection_bounds()]
        for node in self.document.rootNode().childNodes():
            if node.name() in OUR_LAYERS:
                continue
            key.append((node.uniqueId().toString(), node.visible(), node.opacity()))
            key.append(node.blendingMode())
            if not node.visible():
                continue
            if width * height <= KEY_PIXELS:
                key.append(zlib.adler32(bytes(node.projectionPixelData(0, 0, width, height))))
            else:
                thumb = node.thumbnail(1024, 1024).convertToFormat(ARGB32)
                size = thumb.bytesPerLine() * thumb.height()
                key.append(zlib.adler32(bytes(thumb.constBits().asarray(size))))
        return tuple(key)

    def _new_layer(self, name: str) -> Node:
        """A paint layer that takes RGBA 8-bit pixels whatever the document's colour space
        (Krita composites a layer of another colour space into the image)."""
        node = self.document.createNode(name, "paintlayer")
        if not self.is_rgba8():
            _convert(node)
        return node

    def show_preview(self, image: Image, bounds: Bounds) -> None:
        """A preview that cannot be decoded is skipped (the final image still comes)."""
        try:
            pixels = _image_to_bgra(image, bounds)
        except UserError:
            log.warning("skipped a preview image that could not be decoded")
            return
        self._show_on(PREVIEW_LAYER, pixels, bounds)

    def show_live(self, image: Image, bounds: Bounds) -> None:
        self._show_on(LIVE_LAYER, _image_to_bgra(image, bounds), bounds)

    def hide_live(self) -> None:
        node = self._top_node(LIVE_LAYER)
        if node is not None:
            node.remove()
            self.document.refreshProjection()

    def _show_on(self, name: str, pixels: bytes, bounds: Bounds) -> None:
        node = self._top_node(name)
        if node is not None and not self._above_painting(node):
            # A layer was added above it: start over so it stays on top.
            node.remove()
            node = None
        if node is None:
            node = self._new_layer(name)
            self.document.rootNode().addChildNode(node, None)
        else:
            _clear(node)  # what an earlier image left outside the new bounds
            if not node.visible():
                node.setVisible(True)
        node.setPixelData(pixels, bounds.x, bounds.y, bounds.width, bounds.height)
        self.document.refreshProjection()

    def hide_preview(self) -> None:
        """Emptied and hidden, not removed: adding and removing a layer are steps in Krita's
        undo history (writing pixels and hiding are not), and hovering over results must not
        push the painter's own strokes out of it (Krita keeps 30 steps by default). Creating
        the layer is the one undo step the preview costs; it stays, hidden, in the document."""
        node = self._preview_node()
        if node is not None and node.visible():
            _clear(node)
            node.setVisible(False)
            self.document.refreshProjection()

    def read_annotation(self, key: str) -> bytes | None:
        """Krita 5.1, 5.3 and 6.0 save every annotation in the .kra (``<name>/annotations/
        <key>``) and load it back; exports (PNG, JPEG, TIFF, PSD) leave them out."""
        if key not in self.document.annotationTypes():
            return None
        return bytes(self.document.annotation(key))

    def write_annotation(self, key: str, data: bytes) -> None:
        """``setAnnotation`` is no undo command; Krita itself marks the document modified."""
        if not data:
            if key in self.document.annotationTypes():
                self.document.removeAnnotation(key)
            return
        self.document.setAnnotation(key, "AI Image Generation: results", QtCore.QByteArray(data))

    def apply_result(self, image: Image, bounds: Bounds, name: str) -> str:
        """Adding the node is one undo command in Krita 5.1 (``Node.addChildNode`` runs a
        ``KisImageLayerAddCommand``); the pixels are written before the node joins the image,
        so Edit › Undo right after Apply removes the whole result."""
        pixels = _image_to_bgra(image, bounds)
        self.hide_preview()
        node = self._new_layer(name)
        node.setPixelData(pixels, bounds.x, bounds.y, bounds.width, bounds.height)
        # On top of the painting, under the preview and live layers: they stay on top without
        # being removed and added again (each an undo step).
        self.document.rootNode().addChildNode(node, self._top_painting_node())
        self.document.refreshProjection()
        self.document.waitForDone()
        return node.uniqueId().toString()

    def update_layer(self, layer_id: str, image: Image, bounds: Bounds) -> str:
        """Krita's scripting API has no undoable pixel write (``setPixelData`` bypasses the
        undo history), so the painter's layer is never written: an updated copy takes its
        place. Adding the copy and removing the old layer are two undo steps, and two Undos
        give back the layer as it was. A layer of another colour space is copied as RGBA
        8-bit (the pixels written are RGBA 8-bit)."""
        node = self._node(layer_id)
        if node is None or node.type() != "paintlayer":
            raise UserError(
                "The layer this result was meant to update is gone or is not a paint layer. "
                "Apply it again: it will be added as a new layer."
            )
        pixels = _image_to_bgra(image, bounds)
        self.hide_preview()
        copy = node.duplicate()
        if (copy.colorModel(), copy.colorDepth()) != RGBA8:
            _convert(copy)
        copy.setName(node.name())  # duplicate() may add " (copy)"
        copy.setPixelData(pixels, bounds.x, bounds.y, bounds.width, bounds.height)
        parent = node.parentNode() or self.document.rootNode()
        parent.addChildNode(copy, node)
        node.remove()
        self.document.refreshProjection()
        self.document.waitForDone()
        return copy.uniqueId().toString()

    def apply_upscaled(self, image: Image, name: str, new_document: bool = False) -> str:
        """See ``krita_adapter/upscaled.py``: scale, then add the layer (two undo steps)."""
        pixels = _image_to_bgra(image, whole(image))
        if new_document:
            return open_new_document(pixels, image, name, self.document)
        self.hide_preview()
        scale_document(self.document, image.width, image.height)
        node = self._new_layer(name)
        return add_layer(self.document, node, pixels, image, self._top_painting_node())


def _clear(node: Node) -> None:
    """Make every pixel of ``node`` transparent (not an undo step)."""
    old = node.bounds()
    if old.width() > 0:
        node.setPixelData(
            bytes(old.width() * old.height() * 4), old.x(), old.y(), old.width(), old.height()
        )


class KritaDocuments:
    """The painter's open documents; the active one is the one in the active view."""

    def active(self) -> KritaDocument | None:
        app = Krita.instance()
        document = app.activeDocument()
        if document is None and app.activeWindow() is not None:
            view = app.activeWindow().activeView()  # type: ignore[union-attr]
            document = view.document() if view is not None else None
        if document is None:
            open_documents = app.documents()
            document = open_documents[0] if len(open_documents) == 1 else None
        return KritaDocument(document) if document is not None else None

    def find(self, document_id: str) -> KritaDocument | None:
        for document in Krita.instance().documents():
            wrapped = KritaDocument(document)
            if wrapped.id == document_id:
                return wrapped
        return None
