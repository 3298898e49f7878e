"""Scale PNGs with Qt (there is no Pillow inside Krita): canvas images before they travel, and
results a backend must bring to the asked size."""

from __future__ import annotations

from ..qt import QtCore, QtGui
from ..request import Extent, Image


def scale_png(data: bytes, width: int, height: int) -> bytes:
    """A backend's result (PNG) at exactly ``width`` × ``height`` (see backends.png_scale);
    QImage works outside the GUI thread, so the backends may call this from a worker."""
    qimage = QtGui.QImage()
    if not qimage.loadFromData(data):
        raise ValueError("not a readable PNG")
    if (qimage.width(), qimage.height()) == (width, height):
        return data
    return scaled_png(Image(data, qimage.width(), qimage.height()), Extent(width, height)).data


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
