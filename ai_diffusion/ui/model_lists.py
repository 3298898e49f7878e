"""The docker's LoRA list and ControlNet layer list (object names in docker_widget.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..qt import Qt, QtWidgets
from ..request import LoraRef
from ..state.controller import ControlChoice
from ..state.document import LayerInfo
from .names import named as _named


def combo(parent: Any, name: str) -> Any:
    """A combo box that long model names do not widen (the docker stays ~300 px wide)."""
    box = _named(QtWidgets.QComboBox(parent), name)
    box.setSizeAdjustPolicy(
        QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    )
    box.setMinimumContentsLength(3)
    return box


def set_choices(box: Any, names: list[str], keep: str | None = None) -> None:
    """Replace a combo's items, keeping the current (or ``keep``) choice where it still exists."""
    current = keep or box.currentText()
    box.clear()
    box.addItems(names)
    if current in names:
        box.setCurrentText(current)


def _items(widget: Any) -> list[Any]:
    return [widget.item(i).data(Qt.ItemDataRole.UserRole) for i in range(widget.count())]


class LoraBox(QtWidgets.QGroupBox):
    def __init__(self, parent: Any = None) -> None:
        super().__init__("LoRAs", parent)
        col = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.pick = combo(self, "ai_lora_pick")
        self.strength = _named(QtWidgets.QDoubleSpinBox(self), "ai_lora_strength")
        self.strength.setRange(-4.0, 4.0)
        self.strength.setSingleStep(0.05)
        self.strength.setValue(1.0)
        self.add = _named(QtWidgets.QPushButton("Add", self), "ai_lora_add")
        row.addWidget(self.pick, 1)
        row.addWidget(self.strength)
        row.addWidget(self.add)
        self.list = _named(QtWidgets.QListWidget(self), "ai_loras")
        self.list.setMaximumHeight(60)
        self.remove = _named(QtWidgets.QPushButton("Remove", self), "ai_lora_remove")
        col.addLayout(row)
        col.addWidget(self.list)
        col.addWidget(self.remove)
        self.add.clicked.connect(self.add_current)
        self.remove.clicked.connect(lambda: self.list.takeItem(self.list.currentRow()))

    def add_current(self) -> None:
        name = self.pick.currentText()
        if name:
            item = QtWidgets.QListWidgetItem(f"{name} ({self.strength.value():.2f})")
            item.setData(Qt.ItemDataRole.UserRole, (name, self.strength.value()))
            self.list.addItem(item)

    def loras(self) -> list[LoraRef]:
        return [LoraRef(*pair) for pair in _items(self.list)]


class ControlBox(QtWidgets.QGroupBox):
    def __init__(self, say: Callable[[str], Any], parent: Any = None) -> None:
        super().__init__("ControlNet layers", parent)
        self.say = say
        col = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.layer = combo(self, "ai_control_layer")
        self.model = combo(self, "ai_control_model")
        self.add = _named(QtWidgets.QPushButton("Add", self), "ai_control_add")
        row.addWidget(self.layer, 1)
        row.addWidget(self.model, 1)
        row.addWidget(self.add)
        grid = QtWidgets.QGridLayout()
        self.strength = _named(QtWidgets.QDoubleSpinBox(self), "ai_control_strength")
        self.strength.setRange(0.0, 2.0)
        self.strength.setValue(1.0)
        self.start = _named(QtWidgets.QDoubleSpinBox(self), "ai_control_start")
        self.end = _named(QtWidgets.QDoubleSpinBox(self), "ai_control_end")
        for spin, value in ((self.start, 0.0), (self.end, 1.0)):
            spin.setRange(0.0, 1.0)
            spin.setSingleStep(0.05)
            spin.setValue(value)
        for column, (label, spin) in enumerate(
            (("strength", self.strength), ("start", self.start), ("end", self.end))
        ):
            grid.addWidget(QtWidgets.QLabel(label, self), 0, column)
            grid.addWidget(spin, 1, column)
        self.list = _named(QtWidgets.QListWidget(self), "ai_controls")
        self.list.setMaximumHeight(60)
        self.remove = _named(QtWidgets.QPushButton("Remove", self), "ai_control_remove")
        col.addLayout(row)
        col.addLayout(grid)
        col.addWidget(self.list)
        col.addWidget(self.remove)
        self.add.clicked.connect(self.add_current)
        self.remove.clicked.connect(lambda: self.list.takeItem(self.list.currentRow()))

    def set_layers(self, layers: list[LayerInfo]) -> None:
        self.layer.clear()
        for layer in layers:
            self.layer.addItem(layer.name, layer.id)

    def add_current(self) -> None:
        layer_id = self.layer.currentData()
        model = self.model.currentText()
        if layer_id is None or not model:
            self.say("Choose a layer and a ControlNet model first.")
            return
        choice = ControlChoice(
            layer_id, model, self.strength.value(), self.start.value(), self.end.value()
        )
        item = QtWidgets.QListWidgetItem(
            f"{self.layer.currentText()} → {model} ({choice.strength:.2f})"
        )
        item.setData(Qt.ItemDataRole.UserRole, choice)
        self.list.addItem(item)

    def controls(self) -> list[ControlChoice]:
        return _items(self.list)
