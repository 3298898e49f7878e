"""The document contract, as the state layer names it (it lives in ``ai_diffusion.canvas``,
below ``state``, so the Krita adapter implements it without importing ``state``)."""

from __future__ import annotations

from ..canvas import CanvasDocument, DocumentSource, LayerInfo, LiveCanvas

__all__ = ["CanvasDocument", "DocumentSource", "LayerInfo", "LiveCanvas"]
