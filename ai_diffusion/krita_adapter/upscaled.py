"""An upscaled picture onto Krita: the document scaled to the picture's size with the picture
on top as a new paint layer, or a new document holding only the picture.

Krita facts: ``Document.scaleImage`` scales every layer and is one undo step ("Scale Image");
adding a node is another (``KisImageLayerAddCommand``). The scripting API has no way to group
them, so the scale comes first, and one Undo takes the upscaled layer off, a second one brings
back the canvas's size. Pixels are written before the node joins the image, so no undo step
holds a half-written layer.
"""

from __future__ import annotations

from typing import Any

from krita import Krita

from ..errors import UserError
from ..request import Bounds, Image

SCALE_FILTER = "Bicubic"  # Krita's filter for the painter's own layers under the result


def scale_document(document: Any, width: int, height: int) -> None:
    """Scale every layer of ``document`` to ``width`` × ``height`` (resolution kept)."""
    xres, yres = int(document.xRes()), int(document.yRes())
    # Krita 5.1's scaleImage returns nothing (later ones a bool): the size says if it worked.
    document.scaleImage(width, height, xres, yres, SCALE_FILTER)
    document.waitForDone()
    if (document.width(), document.height()) != (width, height):
        raise UserError(
            f"Krita could not scale the image to {width}×{height}. Check that the document is "
            "not locked, and that there is memory for the larger image."
        )


def add_layer(document: Any, node: Any, pixels: bytes, image: Image, above: Any) -> str:
    """``node`` (a new paint layer) filled with ``pixels`` (BGRA of ``image``) and added to
    ``document`` above ``above`` (None: at the top)."""
    node.setPixelData(pixels, 0, 0, image.width, image.height)
    document.rootNode().addChildNode(node, above)
    document.refreshProjection()
    document.waitForDone()
    return str(node.uniqueId().toString())


def open_new_document(pixels: bytes, image: Image, name: str, like: Any) -> str:
    """A new document of ``image``'s size (the resolution of ``like``) holding the picture in
    its one layer (the background layer Krita makes, renamed), shown in the active window.
    Returns the layer's id."""
    app = Krita.instance()
    document = app.createDocument(
        image.width, image.height, name, "RGBA", "U8", "", float(like.resolution())
    )
    made = [n for n in document.rootNode().childNodes() if n.type() == "paintlayer"]
    if made:
        node = made[0]
        node.setName(name)
        node.setPixelData(pixels, 0, 0, image.width, image.height)
        document.refreshProjection()
        document.waitForDone()
        layer = str(node.uniqueId().toString())
    else:
        layer = add_layer(document, document.createNode(name, "paintlayer"), pixels, image, None)
    window = app.activeWindow()
    if window is not None:
        window.addView(document)
    return layer


def whole(image: Image) -> Bounds:
    return Bounds(0, 0, image.width, image.height)
