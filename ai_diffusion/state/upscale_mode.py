"""The docker's Upscale mode: the server's upscale models, a factor (×1.5–×4), an optional
refine in tiles at a strength (with the model chosen at the top, as img2img uses it), and where
the result goes (this document, resized; or a new document).

Generating reads the whole canvas and hands an :class:`~.controller.UpscaleRun` to
``Controller.generate_upscale``; the result is applied when it arrives. A refine of several
tiles is followed by asking the server (``Workflow.detached``): the message says how many
tiles run, not which one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import UserError
from ..request import REFINE_STRENGTHS, UPSCALE_FACTORS, Bounds, GenerationRequest, UpscaleRef
from .controller import Controller, UpscaleRun
from .document import CanvasDocument
from .model_choice import ModelChoice
from .observable import Observable, StateObject

DEFAULT_OVERLAP = 96  # pixels the refine's tiles share (blended with a feathered edge)


class UpscaleMode(StateObject):
    model: Observable[str] = Observable("")  # the upscale model ("" = none on the server)
    models: Observable[tuple[str, ...]] = Observable(())  # the server's upscale models
    factor: Observable[float] = Observable(2.0)
    refine: Observable[bool] = Observable(True)
    strength: Observable[float] = Observable(0.35)  # the refine's
    new_document: Observable[bool] = Observable(False)  # else: this document, resized

    def __init__(self, controller: Controller, model_choice: ModelChoice) -> None:
        super().__init__()
        self.controller = controller
        self.model_choice = model_choice
        self.tile_size: int | None = None  # the refine's tiles (None: the family's size)

    def set_server_models(self, upscalers: list[str] | tuple[str, ...]) -> None:
        self.models = tuple(upscalers)
        if self.model not in self.models:
            self.model = self.models[0] if self.models else ""

    def request(self, document: CanvasDocument, prompt: str = "") -> GenerationRequest:
        """The upscale of the whole visible canvas, with the chosen model's pieces and
        sampling for the refine."""
        if not self.model:
            raise UserError(
                "The server has no upscale model. Copy one (e.g. 4x-UltraSharp.pth) into its "
                "models/upscale_models folder, or add it under Add models, then Refresh."
            )
        low, high = UPSCALE_FACTORS
        factor = min(high, max(low, self.factor))
        strength = min(REFINE_STRENGTHS[1], max(REFINE_STRENGTHS[0], self.strength))
        extent = document.extent()
        image = document.read_image(Bounds(0, 0, extent.width, extent.height))
        base = self.model_choice.request(prompt=prompt) if self.refine else GenerationRequest()
        upscale = UpscaleRef(
            self.model,
            factor=factor,
            refine=strength if self.refine else 0.0,
            tile_overlap=DEFAULT_OVERLAP,
            tile_size=self.tile_size,
        )
        if self.refine and not base.checkpoint:
            raise UserError("Choose a model at the top to refine with, or turn Refine off.")
        return replace(base, image=image, extent=image.extent, upscale=upscale, strength=1.0)

    def prepare(self, document: CanvasDocument, prompt: str = "") -> UpscaleRun:
        request = self.request(document, prompt)
        size = request.upscale.size_for(request.extent) if request.upscale else None
        name = f"[AI] upscaled ×{self.factor:g}"
        if size is not None:
            name += f" ({size.width}×{size.height})"
        return UpscaleRun(request, name, self.new_document)

    def generate(self, prompt: str = "") -> Any:
        return self.controller.generate_upscale(lambda doc: self.prepare(doc, prompt))
