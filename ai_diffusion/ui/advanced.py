""" "Advanced", collapsed: negative prompt, batch size and seed, and what the docker adds
(the resolution, the model section's sampling values with the family's defaults and its
pieces).

Object names: ai_advanced_toggle, ai_advanced, ai_negative, ai_batch, ai_seed, ai_seed_random
(the resolution's: ``resolution.py``).
"""

from __future__ import annotations

from typing import Any

from ..qt import Qt, QtWidgets
from .names import named


class Collapsible(QtWidgets.QWidget):
    """A titled section that opens and closes with an arrow button."""

    def __init__(self, title: str, name: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.toggle = named(QtWidgets.QToolButton(self), f"{name}_toggle")
        self.toggle.setText(title)
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.body = named(QtWidgets.QWidget(self), name)
        self.body.setVisible(False)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.toggle)
        col.addWidget(self.body)
        self.toggle.toggled.connect(self.set_open)

    def set_open(self, open_: bool) -> None:
        self.toggle.setChecked(open_)
        self.body.setVisible(open_)
        arrow = Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow
        self.toggle.setArrowType(arrow)


class AdvancedBox(Collapsible):
    def __init__(self, parent: Any = None) -> None:
        super().__init__("Advanced", "ai_advanced", parent)
        self.negative = named(QtWidgets.QPlainTextEdit(self.body), "ai_negative")
        self.negative.setPlaceholderText("What to avoid (negative prompt)")
        self.negative.setMaximumHeight(48)
        self.batch = named(QtWidgets.QSpinBox(self.body), "ai_batch")
        self.batch.setRange(1, 8)
        self.batch.setToolTip("Images per Generate")
        self.seed = named(QtWidgets.QSpinBox(self.body), "ai_seed")
        self.seed.setRange(0, 2**31 - 1)
        self.seed_random = named(QtWidgets.QCheckBox("random seed", self.body), "ai_seed_random")
        self.seed_random.setChecked(True)
        self.seed_random.toggled.connect(lambda random: self.seed.setEnabled(not random))
        self.seed.setEnabled(False)
        self.form = QtWidgets.QFormLayout(self.body)
        self.form.setContentsMargins(12, 0, 0, 0)
        self.form.addRow(self.negative)
        batch_row = QtWidgets.QHBoxLayout()
        batch_row.addWidget(self.batch)
        batch_row.addStretch()
        batch_row.addWidget(self.seed_random)
        self.form.addRow("Batch", batch_row)
        self.form.addRow("Seed", self.seed)

    def add_part(self, widget: Any) -> None:
        """More advanced controls (the model's sampling values and pieces) at the end."""
        self.form.addRow(widget)

    def reuse_seed(self, seed: int) -> None:
        self.seed_random.setChecked(False)
        self.seed.setValue(seed)
