"""Regions: a layer of the document with a prompt of its own, for the part of the picture its
pixels cover. A row per region (the layer's name · its prompt · ×), added from a layer list.

Object names: ai_region_layer, ai_region_add, ai_regions (the rows), ai_region_prompt (each
row's prompt), ai_region_remove (each row's ×).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..qt import QtWidgets, Signal
from ..state.document import LayerInfo
from ..state.params import LayerRegion
from .model_lists import combo
from .names import named


class RegionRow(QtWidgets.QWidget):
    def __init__(self, layer: LayerInfo, prompt: str, box: RegionBox) -> None:
        super().__init__(box.rows_widget)
        self.layer_id = layer.id
        self.label = QtWidgets.QLabel(layer.name, self)
        self.label.setToolTip(f"Where the layer '{layer.name}' has pixels")
        self.label.setMaximumWidth(90)
        self.prompt = named(QtWidgets.QLineEdit(prompt, self), "ai_region_prompt")
        self.prompt.setPlaceholderText("what is there…")
        self.prompt.setToolTip(
            "This part of the picture's prompt (the main prompt is added after it)"
        )
        self.remove = named(QtWidgets.QToolButton(self), "ai_region_remove")
        self.remove.setText("×")
        self.remove.setToolTip("Remove this region (the layer stays)")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.prompt, 1)
        row.addWidget(self.remove)
        self.remove.clicked.connect(lambda: box.remove(self))


class RegionBox(QtWidgets.QWidget):
    changed = Signal()  # a region was added or removed, or its prompt edited

    def __init__(self, say: Callable[[str], Any], parent: Any = None) -> None:
        super().__init__(parent)
        self.say = say
        self.layer = combo(self, "ai_region_layer")
        self.layer.setToolTip("A layer (or group) that covers the region")
        self.add = named(QtWidgets.QPushButton("Add region", self), "ai_region_add")
        self.add.setToolTip("Give the part of the picture this layer covers its own prompt")
        self.rows_widget = named(QtWidgets.QWidget(self), "ai_regions")
        self.rows: list[RegionRow] = []
        self.rows_layout = QtWidgets.QVBoxLayout(self.rows_widget)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(0)
        pick = QtWidgets.QHBoxLayout()
        pick.setContentsMargins(0, 0, 0, 0)
        pick.addWidget(self.layer, 1)
        pick.addWidget(self.add)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addLayout(pick)
        col.addWidget(self.rows_widget)
        self.layers: list[LayerInfo] = []
        self.add.clicked.connect(self.add_current)

    def set_layers(self, layers: list[LayerInfo]) -> None:
        self.layers = list(layers)
        self.layer.clear()
        for layer in layers:
            self.layer.addItem(layer.name, layer.id)
        names = {layer.id: layer.name for layer in layers}
        for row in self.rows:
            row.label.setText(names.get(row.layer_id, "(deleted)"))

    def add_current(self, prompt: str = "") -> RegionRow | None:
        layer_id = self.layer.currentData()
        layer = next((x for x in self.layers if x.id == layer_id), None)
        if layer is None:
            self.say("Choose the layer that covers the region first.")
            return None
        if any(row.layer_id == layer.id for row in self.rows):
            self.say(f"The layer '{layer.name}' is a region already: change its prompt.")
            return None
        row = RegionRow(layer, prompt or "", self)
        self.rows.append(row)
        self.rows_layout.addWidget(row)
        row.prompt.setFocus()
        row.prompt.textChanged.connect(self.changed)
        self.changed.emit()
        return row

    def set_regions(self, regions: list[LayerRegion]) -> None:
        """Show ``regions`` (another document's, or those kept in this one) instead."""
        for row in list(self.rows):
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        names = {layer.id: layer.name for layer in self.layers}
        for region in regions:
            name = names.get(region.layer_id, "(deleted)")
            row = RegionRow(LayerInfo(region.layer_id, name, ""), region.prompt, self)
            self.rows.append(row)
            self.rows_layout.addWidget(row)
            row.prompt.textChanged.connect(self.changed)
        self.changed.emit()

    def remove(self, row: RegionRow) -> None:
        self.rows.remove(row)
        self.rows_layout.removeWidget(row)
        row.deleteLater()
        self.changed.emit()

    def regions(self) -> list[LayerRegion]:
        return [LayerRegion(row.layer_id, row.prompt.text()) for row in self.rows]
