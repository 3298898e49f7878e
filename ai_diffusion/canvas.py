"""The document contract: what the state layer needs from a painting document.

The Krita adapter (``ai_diffusion.krita_adapter.document``) implements these protocols on real
Krita documents; tests implement them on plain Python images. Nothing here imports Krita.
Images cross this boundary as ``ai_diffusion.request.Image`` (PNG bytes with their size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .request import Bounds, Extent, Image


@dataclass(frozen=True)
class LayerInfo:
    id: str  # stable while the document is open
    name: str
    kind: str  # "paintlayer", "grouplayer", …


class CanvasDocument(Protocol):
    """One open document. Results are routed back to the document they were made for."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    def is_open(self) -> bool: ...

    def extent(self) -> Extent: ...

    def selection_bounds(self) -> Bounds | None:
        """Bounds of the selection, or None when nothing is selected."""
        ...

    def selection_mask(self, bounds: Bounds) -> Image:
        """The selection inside ``bounds`` as an 8-bit grayscale PNG (white = selected)."""
        ...

    def read_image(self, bounds: Bounds, size: Extent | None = None) -> Image:
        """The visible image (all visible layers merged) inside ``bounds``, RGBA PNG, scaled to
        ``size`` when given (before encoding: cheaper than scaling the PNG). The live preview
        layer is never part of it."""
        ...

    def layers(self) -> list[LayerInfo]: ...

    def read_layer(self, layer_id: str, bounds: Bounds) -> Image:
        """One layer's pixels inside ``bounds`` (for ControlNet layers), RGBA PNG."""
        ...

    def layer_mask(self, layer_id: str, bounds: Bounds) -> Image | None:
        """Where the layer has pixels inside ``bounds``, as an 8-bit grayscale PNG (its
        opacity: white = painted); None when it has none there (a region elsewhere)."""
        ...

    def show_preview(self, image: Image, bounds: Bounds) -> None:
        """Show ``image`` at ``bounds`` on a temporary preview layer (created on first use)."""
        ...

    def hide_preview(self) -> None: ...

    def read_annotation(self, key: str) -> bytes | None:
        """Data the plugin keeps inside the document under ``key`` (saved with it, in a .kra
        as an annotation); None when there is none."""
        ...

    def write_annotation(self, key: str, data: bytes) -> None:
        """Keep ``data`` in the document under ``key``, replacing what was there; empty
        ``data`` removes it. Not an undo step; Krita marks the document modified, so that
        closing it asks to save."""
        ...

    def apply_result(self, image: Image, bounds: Bounds, name: str) -> str:
        """Add ``image`` (RGBA PNG; its alpha is the soft inpaint edge) as a new paint layer at
        ``bounds``, as one undo step. Returns the new layer's id."""
        ...

    def update_layer(self, layer_id: str, image: Image, bounds: Bounds) -> str:
        """Put ``image`` (RGBA PNG) into the paint layer ``layer_id`` at ``bounds``, replacing
        its pixels there; its pixels elsewhere, its name, place, opacity, blending and
        visibility stay. Undoable: in Krita the old layer comes back after two undo steps
        (the updated copy is added, then the old one removed). Returns the layer's id now."""
        ...

    def apply_upscaled(self, image: Image, name: str, new_document: bool = False) -> str:
        """An upscaled picture of the whole canvas: the canvas (all layers) resized to
        ``image``'s size and ``image`` added on top as a paint layer called ``name``, as one
        undo step; or, with ``new_document``, a new document holding only that layer (this one
        unchanged). Returns the new layer's id."""
        ...


class LiveCanvas(CanvasDocument, Protocol):
    """What live painting needs on top: notice changes, and a layer of its own."""

    def canvas_key(self) -> object:
        """A value that differs whenever what the painter sees changes (strokes, layer
        visibility or opacity, added or removed layers, the selection); equal values mean
        nothing changed. The live preview layer is not part of it. Cheap enough to poll."""
        ...

    def show_live(self, image: Image, bounds: Bounds) -> None:
        """Show ``image`` scaled to ``bounds`` on the live preview layer (created on first use,
        kept above the painter's layers); the painter's layers are never modified."""
        ...

    def hide_live(self) -> None:
        """Remove the live preview layer."""
        ...


class DocumentSource(Protocol):
    """Which document the painter is working on, and which are still open."""

    def active(self) -> CanvasDocument | None: ...

    def find(self, document_id: str) -> CanvasDocument | None:
        """The open document with this id, or None once it was closed."""
        ...
