"""An in-memory painting document implementing the state layer's document protocols."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field

import numpy as np
from PIL import Image as PILImage

from ai_diffusion.request import Bounds, Extent, Image
from ai_diffusion.state.document import LayerInfo


def to_png(array: np.ndarray) -> Image:
    buffer = io.BytesIO()
    mode = {2: "L", 3: "RGBA" if array.shape[-1] == 4 else "RGB"}[array.ndim]
    PILImage.fromarray(array, mode).save(buffer, "PNG")
    return Image.from_png(buffer.getvalue())


@dataclass
class FakeDocument:
    width: int = 256
    height: int = 192
    selection: Bounds | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    title: str = "painting"
    open: bool = True
    layers_added: list[tuple[str, Bounds, Image]] = field(default_factory=list)
    layers_updated: list[tuple[str, Bounds, Image]] = field(default_factory=list)
    painted: dict[str, np.ndarray] = field(default_factory=dict)  # a layer's alpha, see layer_mask
    extra_layers: list[LayerInfo] = field(default_factory=list)  # the painter's other layers
    previews: list[Bounds] = field(default_factory=list)
    preview_visible: bool = False
    live: list[tuple[Bounds, Image]] = field(default_factory=list)  # every live update shown
    live_visible: bool = False
    strokes: int = 0
    reads: int = 0  # read_image calls (each is UI-thread work inside Krita)
    annotations: dict[str, bytes] = field(default_factory=dict)  # kept in the file
    modified: bool = False  # what Krita does on an annotation write
    upscales: list[tuple[str, Image, bool]] = field(default_factory=list)  # name, image, new doc

    def __post_init__(self) -> None:
        rng = np.random.default_rng(3)
        self.pixels = rng.integers(0, 255, (self.height, self.width, 4), dtype=np.uint8)
        self.pixels[..., 3] = 255

    def is_open(self) -> bool:
        return self.open

    def extent(self) -> Extent:
        return Extent(self.width, self.height)

    def selection_bounds(self) -> Bounds | None:
        return self.selection

    def selection_mask(self, bounds: Bounds) -> Image:
        mask = np.zeros((self.height, self.width), np.uint8)
        s = self.selection
        assert s is not None
        mask[s.y : s.y + s.height, s.x : s.x + s.width] = 255
        return to_png(mask[bounds.y : bounds.y + bounds.height, bounds.x : bounds.x + bounds.width])

    def read_image(self, bounds: Bounds, size: Extent | None = None) -> Image:
        self.reads += 1
        crop = self.pixels[bounds.y : bounds.y + bounds.height, bounds.x : bounds.x + bounds.width]
        if size is not None and (size.width, size.height) != (bounds.width, bounds.height):
            scaled = PILImage.fromarray(crop, "RGBA").resize((size.width, size.height))
            crop = np.asarray(scaled)
        return to_png(crop)

    def layers(self) -> list[LayerInfo]:
        added = [
            LayerInfo(f"layer-{i + 2}", name, "paintlayer")
            for i, (name, _, _) in enumerate(self.layers_added)
        ]
        return [LayerInfo("layer-1", "Sketch", "paintlayer"), *self.extra_layers, *added]

    def layer_mask(self, layer_id: str, bounds: Bounds) -> Image | None:
        """A layer's painted area: ``painted[layer_id]`` (an alpha array of the canvas's size);
        the Sketch layer covers the whole canvas."""
        if layer_id not in [layer.id for layer in self.layers()]:
            from ai_diffusion.errors import UserError

            raise UserError("A region's layer was deleted.")
        alpha = self.painted.get(layer_id)
        if alpha is None:
            alpha = np.full((self.height, self.width), 255, np.uint8)
        crop = alpha[bounds.y : bounds.y + bounds.height, bounds.x : bounds.x + bounds.width]
        return to_png(crop) if crop.any() else None

    def read_layer(self, layer_id: str, bounds: Bounds) -> Image:
        return self.read_image(bounds)

    def paint(self, bounds: Bounds, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        """A stroke: fills ``bounds`` on the painter's pixels."""
        self.pixels[bounds.y : bounds.y + bounds.height, bounds.x : bounds.x + bounds.width] = (
            *colour,
            255,
        )
        self.strokes += 1

    def canvas_key(self) -> object:
        return (self.strokes, self.selection)

    def show_live(self, image: Image, bounds: Bounds) -> None:
        self.live.append((bounds, image))
        self.live_visible = True

    def hide_live(self) -> None:
        self.live_visible = False

    def show_preview(self, image: Image, bounds: Bounds) -> None:
        self.previews.append(bounds)
        self.preview_visible = True

    def hide_preview(self) -> None:
        self.preview_visible = False

    def read_annotation(self, key: str) -> bytes | None:
        return self.annotations.get(key)

    def write_annotation(self, key: str, data: bytes) -> None:
        assert isinstance(data, bytes), type(data)
        if data:
            self.annotations[key] = data
        else:
            self.annotations.pop(key, None)
        self.modified = True

    def apply_result(self, image: Image, bounds: Bounds, name: str) -> str:
        self.layers_added.append((name, bounds, image))
        return f"layer-{len(self.layers_added) + 1}"

    def update_layer(self, layer_id: str, image: Image, bounds: Bounds) -> str:
        """Like Krita's adapter: the layer keeps its name and place (here: its id)."""
        assert layer_id in [layer.id for layer in self.layers()], layer_id
        self.layers_updated.append((layer_id, bounds, image))
        return layer_id

    def apply_upscaled(self, image: Image, name: str, new_document: bool = False) -> str:
        """Like Krita's adapter: the canvas (every layer) scaled to the image, the image on top
        (or a new document with it, this one unchanged)."""
        self.upscales.append((name, image, new_document))
        if new_document:
            return "new-document-layer-1"
        scaled = PILImage.fromarray(self.pixels, "RGBA").resize((image.width, image.height))
        self.pixels = np.asarray(scaled).copy()
        self.width, self.height = image.width, image.height
        return self.apply_result(image, Bounds(0, 0, image.width, image.height), name)


@dataclass
class FakeDocuments:
    documents: list[FakeDocument] = field(default_factory=list)
    current: int = 0

    def active(self) -> FakeDocument | None:
        return self.documents[self.current] if self.documents else None

    def find(self, document_id: str) -> FakeDocument | None:
        return next((d for d in self.documents if d.id == document_id and d.open), None)
