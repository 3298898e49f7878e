"""The Upscale mode's page: the server's upscale model, the factor, an optional refine at a
strength (in tiles, with the model at the top), and where the result goes. Generate upscales
the whole canvas. Binds to :class:`~ai_diffusion.state.upscale_mode.UpscaleMode`.

Object names: ai_upscale_model, ai_upscale_factor, ai_upscale_refine, ai_upscale_strength,
ai_upscale_target (this document / a new document), ai_upscale_size (the result's size).
"""

from __future__ import annotations

from typing import Any

from ..qt import QtWidgets
from ..state.observable import bind
from ..state.upscale_mode import UpscaleMode
from .names import named

TARGETS = ("This document (resized)", "A new document")


class UpscalePage(QtWidgets.QWidget):
    def __init__(self, mode: UpscaleMode, canvas_size: Any, parent: Any = None) -> None:
        """``canvas_size()``: the active document's extent, or None (for the size line)."""
        super().__init__(parent)
        self.mode = mode
        self.canvas_size = canvas_size
        form = QtWidgets.QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        self.model = named(QtWidgets.QComboBox(self), "ai_upscale_model")
        self.model.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model.setMinimumContentsLength(8)
        self.model.setToolTip("An upscale model on the server (models/upscale_models)")
        self.factor = named(QtWidgets.QDoubleSpinBox(self), "ai_upscale_factor")
        self.factor.setRange(1.5, 4.0)
        self.factor.setSingleStep(0.5)
        self.factor.setDecimals(2)
        self.factor.setPrefix("×")
        self.refine = named(QtWidgets.QCheckBox("Refine", self), "ai_upscale_refine")
        self.refine.setToolTip(
            "Add detail with the model chosen at the top, in tiles that blend into each other"
        )
        self.strength = named(QtWidgets.QSpinBox(self), "ai_upscale_strength")
        self.strength.setRange(5, 100)
        self.strength.setSuffix(" %")
        self.strength.setToolTip("How much the refine may change: low keeps the picture")
        refine_row = QtWidgets.QHBoxLayout()
        refine_row.setContentsMargins(0, 0, 0, 0)
        refine_row.addWidget(self.refine)
        refine_row.addWidget(self.strength, 1)
        self.target = named(QtWidgets.QComboBox(self), "ai_upscale_target")
        self.target.addItems(list(TARGETS))
        self.size = named(QtWidgets.QLabel("", self), "ai_upscale_size")
        self.size.setWordWrap(True)
        form.addRow("Upscaler", self.model)
        form.addRow("Factor", self.factor)
        form.addRow(refine_row)
        form.addRow("Result", self.target)
        form.addRow(self.size)
        self._wire()

    def _wire(self) -> None:
        m = self.mode
        bind(m, "models", self._set_models)
        bind(m, "model", lambda name: self.model.setCurrentText(name))
        bind(m, "factor", lambda value: self._set(self.factor, value))
        bind(m, "refine", lambda on: self._set(self.refine, on))
        bind(m, "refine", self.strength.setEnabled)
        bind(m, "strength", lambda value: self._set(self.strength, round(value * 100)))
        bind(m, "new_document", lambda new: self.target.setCurrentIndex(1 if new else 0))
        self.model.currentTextChanged.connect(lambda text: setattr(m, "model", text))
        self.factor.valueChanged.connect(lambda value: setattr(m, "factor", float(value)))
        self.refine.toggled.connect(lambda on: setattr(m, "refine", on))
        self.strength.valueChanged.connect(lambda value: setattr(m, "strength", value / 100))
        self.target.currentIndexChanged.connect(
            lambda index: setattr(m, "new_document", index == 1)
        )
        bind(m, "factor", lambda _: self.update_size())

    @staticmethod
    def _set(widget: Any, value: Any) -> None:
        if isinstance(widget, QtWidgets.QCheckBox):
            if widget.isChecked() != value:
                widget.setChecked(value)
        elif widget.value() != value:
            widget.setValue(value)

    def _set_models(self, models: tuple[str, ...]) -> None:
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItems(list(models))
        self.model.setCurrentText(self.mode.model)
        self.model.blockSignals(False)
        self.model.setEnabled(bool(models))
        self.model.setToolTip(
            "An upscale model on the server (models/upscale_models)"
            if models
            else "The server has no upscale model: add one to models/upscale_models"
        )

    def update_size(self) -> None:
        """The result's size for the active document (the canvas changed, or the factor)."""
        extent = self.canvas_size()
        if extent is None:
            self.size.setText("")
            return
        f = self.mode.factor
        width, height = round(extent.width * f), round(extent.height * f)
        self.size.setText(f"{extent.width}×{extent.height} → {width}×{height}")
