"""The resolution to generate at (in the Advanced section): automatic by default (the canvas
or selection sampled at about the model family's own size, then scaled to fit), the canvas's
own size, or the family's size scaled. The result always lands on the canvas or selection at
its size; this only says how many pixels the model works with. The sampling section's
Defaults button sets it back to automatic.

Object names: ai_resolution.
"""

from __future__ import annotations

from typing import Any

from ..state.model_choice import ModelChoice
from ..state.observable import bind
from .model_lists import combo


class ResolutionBox:
    """A combo that shows ``ModelChoice.resolution`` and writes the painter's choice into it."""

    def __init__(self, choice: ModelChoice, parent: Any = None) -> None:
        self.choice = choice
        self.choices: list[tuple[str, Any]] = []
        self.box = combo(parent, "ai_resolution")
        self.box.setToolTip(
            "How many pixels the model works with. The result is always scaled to the canvas "
            "or selection. Smaller is faster; larger adds detail but takes longer, and far "
            "above the model's own size it may repeat subjects."
        )
        self.box.activated.connect(self._on_activated)
        bind(choice, "family_text", lambda _: self._fill())
        bind(choice, "resolution", self._show)

    def _fill(self) -> None:
        self.choices = self.choice.resolution_choices()
        self.box.blockSignals(True)
        self.box.clear()
        self.box.addItems([text for text, _ in self.choices])
        self.box.blockSignals(False)
        self._show(self.choice.resolution)

    def _show(self, resolution: Any) -> None:
        values = [value for _, value in self.choices]
        self.box.setCurrentIndex(values.index(resolution) if resolution in values else 0)

    def _on_activated(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.choice.resolution = self.choices[index][1]
