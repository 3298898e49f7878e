"""The pages of the mode switcher that the docker assembles from other panels: Generate
(LoRA and ControlNet rows, Advanced with the resolution, the model's sampling values and
pieces) and Edit (the
model's Edit switch and reference layers). Live's page is ``live_panel.py``.

Object names: ai_lists, ai_lists_toggle (and those of the panels inside: LoRAs, ControlNet
layers, regions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..qt import QtWidgets
from .advanced import AdvancedBox, Collapsible
from .model_lists import ControlBox, LoraBox
from .region_box import RegionBox
from .resolution import ResolutionBox


class GeneratePage(QtWidgets.QWidget):
    def __init__(self, model_picker: Any, say: Callable[[str], Any], parent: Any = None) -> None:
        super().__init__(parent)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        self.lora_box = LoraBox(self)
        self.control_box = ControlBox(say, self)
        self.lists = Collapsible("LoRAs, ControlNet, regions", "ai_lists", self)
        inner = QtWidgets.QVBoxLayout(self.lists.body)
        inner.setContentsMargins(6, 0, 0, 0)
        inner.addWidget(self.lora_box)
        inner.addWidget(self.control_box)
        # Regions share the section (a section of their own would cost the docker a row).
        self.region_box = RegionBox(say, self.lists.body)
        inner.addWidget(self.region_box)
        self.advanced = AdvancedBox(self)
        self.resolution = ResolutionBox(model_picker.choice, self.advanced.body)
        self.advanced.form.addRow("Size", self.resolution.box)
        self.advanced.add_part(model_picker.sampling_box)
        self.advanced.add_part(model_picker.pieces_box)
        col.addWidget(self.lists)
        col.addWidget(self.advanced)


class EditPage(QtWidgets.QWidget):
    def __init__(self, model_picker: Any, parent: Any = None) -> None:
        super().__init__(parent)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(model_picker.edit_box)
