"""What the docker asks the controller to generate, in the request contract's own terms.

The panel's values are a :class:`GenerationRequest` already (model, prompts, LoRAs, sampling,
strength, resolution, edit); what only the document can say (the crop, its pixels, the mask,
the pixels of control and reference layers) the controller adds when it builds the request.
The widgets import the contract's dataclasses from here (``ui`` does not import ``request``).
The chosen style (``styles.py``) travels along: its template wraps the prompt when the request
is built, and its name goes with the results.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..request import ControlLayer, GenerationRequest, Image, LoraRef, Resolution, Sampling
from .styles import Style

__all__ = [
    "UNREAD",
    "ControlLayer",
    "GenerationRequest",
    "LayerControl",
    "LayerRegion",
    "LoraRef",
    "Params",
    "Resolution",
    "Sampling",
    "Style",
]

UNREAD = Image(b"", 0, 0)  # stands for a layer's pixels until the request is built


@dataclass(frozen=True)
class LayerControl:
    """A ControlNet guided by a layer of the document. ``control`` is the request's own
    :class:`ControlLayer`; its image is read from the layer when the request is built."""

    layer_id: str
    control: ControlLayer

    @classmethod
    def of(
        cls, layer_id: str, model: str, strength: float = 1.0, start: float = 0.0, end: float = 1.0
    ) -> LayerControl:
        return cls(layer_id, ControlLayer(model, UNREAD, strength, start, end))


@dataclass(frozen=True)
class LayerRegion:
    """A region: where the layer ``layer_id`` has pixels, ``prompt`` describes the picture
    (read as the request's ``RegionPrompt`` mask when the request is built)."""

    layer_id: str
    prompt: str


@dataclass(frozen=True)
class Params:
    """What the panel says. ``request`` carries every value the painter chose; ``random_seed``
    asks for a new seed per Generate (``request.sampling.seed`` is then unused)."""

    request: GenerationRequest
    random_seed: bool = False
    controls: tuple[LayerControl, ...] = ()
    references: tuple[str, ...] = ()  # layer ids of reference images (edit models)
    style: Style | None = None  # the chosen style: its template wraps the prompt
    regions: tuple[LayerRegion, ...] = ()  # parts of the picture with prompts of their own

    @property
    def prompt(self) -> str:
        """The prompt to send: the painter's, in the style's template if one is chosen."""
        prompt = self.request.prompt
        return self.style.wrap(prompt) if self.style is not None else prompt

    @property
    def style_name(self) -> str:
        return self.style.name if self.style is not None else ""
