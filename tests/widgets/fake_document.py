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
    previews: list[Bounds] = field(default_factory=list)
    preview_visible: bool = False
    live: list[tuple[Bounds, Image]] = field(default_factory=list)  # every live update shown
    live_visible: bool = False
    strokes: int = 0
    reads: int = 0  # read_image calls (each is UI-thread work inside Krita)

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
        return [LayerInfo("layer-1", "Sketch", "paintlayer")]

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

    def apply_result(self, image: Image, bounds: Bounds, name: str) -> str:
        self.layers_added.append((name, bounds, image))
        return f"layer-{len(self.layers_added) + 1}"


@dataclass
class FakeDocuments:
    documents: list[FakeDocument] = field(default_factory=list)
    current: int = 0

    def active(self) -> FakeDocument | None:
        return self.documents[self.current] if self.documents else None

    def find(self, document_id: str) -> FakeDocument | None:
        return next((d for d in self.documents if d.id == document_id and d.open), None)
