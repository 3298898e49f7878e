"""LoRAs and ControlNet layers as compact rows (name · strength · ×), added from a picker with
search (servers have hundreds of LoRAs: type part of a name to narrow the list).

Object names: ai_lora_pick, ai_lora_strength, ai_lora_add, ai_loras (the rows), ai_lora_remove
(each row's ×); ai_control_layer, ai_control_model, ai_control_strength, ai_control_start,
ai_control_end, ai_control_add, ai_controls, ai_control_remove.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..qt import Qt, QtWidgets
from ..state.document import LayerInfo
from ..state.params import LayerControl, LoraRef
from .names import named


def combo(parent: Any, name: str) -> Any:
    """A combo box that long model names do not widen (the docker stays ~300 px wide)."""
    box = named(QtWidgets.QComboBox(parent), name)
    box.setSizeAdjustPolicy(
        QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    )
    box.setMinimumContentsLength(3)
    return box


def searchable(parent: Any, name: str) -> Any:
    """A combo whose list narrows to the names containing what is typed."""
    box = combo(parent, name)
    box.setEditable(True)
    box.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
    completer = box.completer()
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setCompletionMode(QtWidgets.QCompleter.CompletionMode.PopupCompletion)
    box.lineEdit().setPlaceholderText("search…")
    return box


def set_choices(box: Any, names: list[str], keep: str | None = None) -> None:
    """Replace a combo's items, keeping the current (or ``keep``) choice where it still exists."""
    current = keep or box.currentText()
    box.clear()
    box.addItems(names)
    if current in names:
        box.setCurrentText(current)


def _strength_spin(parent: Any, name: str, low: float, high: float, value: float) -> Any:
    spin = named(QtWidgets.QDoubleSpinBox(parent), name)
    spin.setRange(low, high)
    spin.setSingleStep(0.05)
    spin.setValue(value)
    return spin


class Row(QtWidgets.QWidget):
    """name · strength · ×"""

    def __init__(self, text: str, value: Any, strength: float, remove_name: str, rows: Rows):
        super().__init__(rows)
        self.value = value
        self.label = QtWidgets.QLabel(text, self)
        self.label.setToolTip(text)
        self.label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.strength = _strength_spin(self, "ai_row_strength", -4.0, 4.0, strength)
        self.remove = named(QtWidgets.QToolButton(self), remove_name)
        self.remove.setText("×")
        self.remove.setToolTip("Remove")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.strength)
        row.addWidget(self.remove)
        self.remove.clicked.connect(lambda: rows.remove(self))


class Rows(QtWidgets.QWidget):
    def __init__(self, name: str, remove_name: str, parent: Any = None) -> None:
        super().__init__(parent)
        named(self, name)
        self.remove_name = remove_name
        self.rows: list[Row] = []
        self.layout_ = QtWidgets.QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(0)

    def add(self, text: str, value: Any, strength: float) -> Row:
        row = Row(text, value, strength, self.remove_name, self)
        self.rows.append(row)
        self.layout_.addWidget(row)
        return row

    def remove(self, row: Row) -> None:
        self.rows.remove(row)
        self.layout_.removeWidget(row)
        row.deleteLater()

    def count(self) -> int:
        return len(self.rows)


class LoraBox(QtWidgets.QWidget):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.pick = searchable(self, "ai_lora_pick")
        self.pick.setToolTip("LoRA: type part of its name to find it")
        self.strength = _strength_spin(self, "ai_lora_strength", -4.0, 4.0, 1.0)
        self.add = named(QtWidgets.QPushButton("Add", self), "ai_lora_add")
        self.add.setToolTip("Add the chosen LoRA with this strength")
        self.list = Rows("ai_loras", "ai_lora_remove", self)
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.pick, 1)
        row.addWidget(self.strength)
        row.addWidget(self.add)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addLayout(row)
        col.addWidget(self.list)
        self.add.clicked.connect(self.add_current)

    def add_current(self) -> None:
        name = self.pick.currentText().strip()
        if name and self.pick.findText(name) >= 0:
            self.list.add(name, name, self.strength.value())

    def loras(self) -> list[LoraRef]:
        return [LoraRef(row.value, row.strength.value()) for row in self.list.rows]


class ControlBox(QtWidgets.QWidget):
    def __init__(self, say: Callable[[str], Any], parent: Any = None) -> None:
        super().__init__(parent)
        self.say = say
        self.layer = combo(self, "ai_control_layer")
        self.layer.setToolTip("The layer that guides the image")
        self.model = searchable(self, "ai_control_model")
        self.model.setToolTip("ControlNet model")
        self.add = named(QtWidgets.QPushButton("Add", self), "ai_control_add")
        self.add.setToolTip("Guide the image with this layer and model")
        self.strength = _strength_spin(self, "ai_control_strength", 0.0, 2.0, 1.0)
        self.start = _strength_spin(self, "ai_control_start", 0.0, 1.0, 0.0)
        self.end = _strength_spin(self, "ai_control_end", 0.0, 1.0, 1.0)
        self.strength.setToolTip("Strength")
        self.start.setToolTip("Guides from this fraction of the steps on")
        self.end.setToolTip("Guides until this fraction of the steps")
        self.list = Rows("ai_controls", "ai_control_remove", self)
        pick = QtWidgets.QHBoxLayout()
        pick.setContentsMargins(0, 0, 0, 0)
        pick.addWidget(self.layer, 1)
        pick.addWidget(self.model, 1)
        pick.addWidget(self.add)
        numbers = QtWidgets.QHBoxLayout()
        numbers.setContentsMargins(0, 0, 0, 0)
        for spin in (self.strength, self.start, self.end):
            numbers.addWidget(spin)
        numbers.addStretch()
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addLayout(pick)
        col.addLayout(numbers)
        col.addWidget(self.list)
        self.add.clicked.connect(self.add_current)

    def set_layers(self, layers: list[LayerInfo]) -> None:
        self.layer.clear()
        for layer in layers:
            self.layer.addItem(layer.name, layer.id)

    def add_current(self) -> None:
        layer_id = self.layer.currentData()
        model = self.model.currentText().strip()
        if layer_id is None or not model or self.model.findText(model) < 0:
            self.say("Choose a layer and a ControlNet model first.")
            return
        choice = LayerControl.of(
            layer_id, model, self.strength.value(), self.start.value(), self.end.value()
        )
        self.list.add(f"{self.layer.currentText()} → {model}", choice, self.strength.value())

    def controls(self) -> list[LayerControl]:
        """The rows, each with the strength its row shows now."""
        return [
            replace(row.value, control=replace(row.value.control, strength=row.strength.value()))
            for row in self.list.rows
        ]
