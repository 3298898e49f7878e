"""Scale a PNG down before it travels (with Qt: there is no Pillow inside Krita)."""

from __future__ import annotations

from ..qt import QtCore, QtGui
from ..request import Extent, Image


def scaled_png(image: Image, extent: Extent) -> Image:
    """``image`` resized to ``extent`` (smooth), as PNG; the same image when it already fits."""
    if image.extent == extent:
        return image
    qimage = QtGui.QImage()
    if not qimage.loadFromData(image.data):
        raise ValueError("not a readable PNG")
    qimage = qimage.scaled(
        extent.width,
        extent.height,
        QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
        QtCore.Qt.TransformationMode.SmoothTransformation,
    )
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    qimage.save(buffer, "PNG")
    return Image(bytes(buffer.data()), extent.width, extent.height)
