"""The Workflow mode's page: choose a ComfyUI workflow of your own (a file, or one saved on the
server), set its parameters (typed controls with the server's limits), its negative prompt and
seed; Generate uses the docker's prompt and the canvas. Binds to
:class:`~ai_diffusion.state.workflow_mode.WorkflowMode`.

Object names: ai_workflow_open, ai_workflow_saved, ai_workflow_refresh, ai_workflow_name,
ai_workflow_problem, ai_workflow_params, ai_workflow_param_<node>_<input> (each parameter's
control, other characters as "_"), ai_workflow_prompt_note, ai_workflow_negative,
ai_workflow_seed, ai_workflow_seed_random, ai_workflow_reset.
"""

from __future__ import annotations

import re
from typing import Any

from ..qt import Qt, QtWidgets
from ..state.observable import bind
from ..state.workflow_mode import WorkflowMode
from .names import named

INT_LIMIT = 2**31 - 1  # a Qt spin box holds 32-bit numbers
SAVED_PLACEHOLDER = "Saved on the server…"


def control_name(key: str) -> str:
    return "ai_workflow_param_" + re.sub(r"[^A-Za-z0-9]", "_", key)


class WorkflowPage(QtWidgets.QWidget):
    def __init__(self, mode: WorkflowMode, parent: Any = None) -> None:
        super().__init__(parent)
        self.mode = mode
        self.controls: dict[str, Any] = {}
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(3)
        self.open_button = named(QtWidgets.QPushButton("Open workflow…", self), "ai_workflow_open")
        self.open_button.setToolTip("A workflow saved from ComfyUI: .json (either format) or .png")
        self.saved = named(QtWidgets.QComboBox(self), "ai_workflow_saved")
        self.saved.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.saved.setMinimumContentsLength(8)
        self.saved.setToolTip("The workflows saved on the server by the ComfyUI page")
        self.refresh = named(QtWidgets.QToolButton(self), "ai_workflow_refresh")
        self.refresh.setText("⟳")
        self.refresh.setToolTip("Read the server's saved workflows again")
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.saved, 1)
        row.addWidget(self.refresh)
        col.addWidget(self.open_button)
        col.addLayout(row)
        self.name = named(QtWidgets.QLabel("", self), "ai_workflow_name")
        self.name.setWordWrap(True)
        self.problem = named(QtWidgets.QLabel("", self), "ai_workflow_problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #d66;")
        self.prompt_note = named(QtWidgets.QLabel("", self), "ai_workflow_prompt_note")
        self.prompt_note.setWordWrap(True)
        col.addWidget(self.name)
        col.addWidget(self.problem)
        col.addWidget(self.prompt_note)
        self.params = named(QtWidgets.QWidget(self), "ai_workflow_params")
        self.form = QtWidgets.QFormLayout(self.params)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        col.addWidget(self.params)
        self.negative = named(QtWidgets.QPlainTextEdit(self), "ai_workflow_negative")
        self.negative.setMaximumHeight(48)
        self.seed = named(QtWidgets.QSpinBox(self), "ai_workflow_seed")
        self.seed.setRange(0, INT_LIMIT)
        self.seed.setMinimumWidth(90)
        self.seed_random = named(QtWidgets.QCheckBox("random", self), "ai_workflow_seed_random")
        self.seed_row = QtWidgets.QWidget(self)
        seed_line = QtWidgets.QHBoxLayout(self.seed_row)
        seed_line.setContentsMargins(0, 0, 0, 0)
        seed_line.addWidget(QtWidgets.QLabel("Seed", self.seed_row))
        seed_line.addWidget(self.seed, 1)
        seed_line.addWidget(self.seed_random)
        col.addWidget(self.negative)
        col.addWidget(self.seed_row)
        self.reset = named(QtWidgets.QPushButton("Reset", self), "ai_workflow_reset")
        self.reset.setToolTip("The workflow's own values again")
        col.addWidget(self.reset, 0, Qt.AlignmentFlag.AlignRight)
        self._wire()
        self.rebuild()

    def _wire(self) -> None:
        m = self.mode
        self.open_button.clicked.connect(self.choose_file)
        self.refresh.clicked.connect(m.refresh_saved)
        self.saved.activated.connect(self._pick_saved)
        self.reset.clicked.connect(m.reset)
        m.loaded.connect(self.rebuild)
        bind(m, "saved", self._set_saved)
        bind(m, "name", lambda text: self.name.setText(f"Workflow: {text}" if text else ""))
        bind(m, "problem", self._set_problem)
        bind(m, "seed_shown", self._show_seed)
        self.negative.textChanged.connect(self._negative_changed)
        self.seed.valueChanged.connect(self._seed_changed)
        self.seed_random.toggled.connect(self._seed_changed)

    def _negative_changed(self) -> None:
        if not self._building:
            self.mode.set_negative(self.negative.toPlainText())

    def _show_seed(self, seed: int) -> None:
        self._building, building = True, self._building
        try:
            self.seed.setValue(min(max(int(seed), 0), INT_LIMIT))
        finally:
            self._building = building

    def _set_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def _set_saved(self, names: tuple[str, ...]) -> None:
        current = self.saved.currentText()
        self.saved.blockSignals(True)
        self.saved.clear()
        self.saved.addItem(SAVED_PLACEHOLDER if names else "No saved workflows")
        self.saved.addItems(list(names))
        index = self.saved.findText(current)
        self.saved.setCurrentIndex(max(index, 0))
        self.saved.blockSignals(False)

    def _pick_saved(self, index: int) -> None:
        if index > 0:
            self.mode.open_saved(self.saved.itemText(index))

    def choose_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open a ComfyUI workflow", "", "ComfyUI workflows (*.json *.png)"
        )
        if path:
            self.mode.open_file(path)

    def _seed_changed(self, *_: Any) -> None:
        self.seed.setEnabled(not self.seed_random.isChecked())
        if self._building:
            return
        self.mode.set_seed(self.seed.value(), self.seed_random.isChecked())

    _building = False

    def rebuild(self) -> None:
        """Controls for the loaded workflow's parameters, with the painter's values."""
        m, mapping = self.mode, self.mode.mapping
        self._building = True
        try:
            while self.form.rowCount():
                self.form.removeRow(0)
            self.controls = {}
            params = mapping.parameters if mapping is not None else []
            for param in params:
                control = self._control(param)
                label = QtWidgets.QLabel(param.label, self.params)
                label.setWordWrap(True)
                self.form.addRow(label, control)
                self.controls[param.key] = control
            self.params.setVisible(bool(params))
            prompts = mapping.prompts if mapping is not None else []
            positive = [p for p in prompts if p.role == "positive"]
            negative = [p for p in prompts if p.role == "negative"]
            own = positive[0].text if positive else ""
            self.prompt_note.setText(
                f"Prompt: the one above (empty: the workflow's own, “{_short(own)}”)."
                if positive
                else ""
            )
            self.prompt_note.setVisible(bool(positive))
            self.negative.setVisible(bool(negative))
            self.negative.setPlaceholderText(
                f"Negative (empty: “{_short(negative[0].text)}”)" if negative else ""
            )
            if self.negative.toPlainText() != (m.values.negative or ""):
                self.negative.setPlainText(m.values.negative or "")
            self.seed_row.setVisible(bool(mapping is not None and mapping.seeds))
            self.seed.setValue(min(max(m.seed(), 0), INT_LIMIT))
            self.seed_random.setChecked(m.random_seed)
            self.seed.setEnabled(not m.random_seed)
            self.reset.setEnabled(mapping is not None)
        finally:
            self._building = False

    def _control(self, param: Any) -> Any:
        value = self.mode.value(param)
        key = param.key
        parent = self.params
        if param.kind == "int":
            box: Any = QtWidgets.QSpinBox(parent)
            box.setRange(_int(param.minimum, -INT_LIMIT), _int(param.maximum, INT_LIMIT))
            box.setSingleStep(max(1, _int(param.step, 1)))
            box.setValue(_int(value, 0))
            box.valueChanged.connect(lambda v, k=key: self._set(k, v))
        elif param.kind == "float":
            box = QtWidgets.QDoubleSpinBox(parent)
            box.setDecimals(_decimals(param.step))
            box.setRange(_float(param.minimum, -1e9), _float(param.maximum, 1e9))
            box.setSingleStep(_float(param.step, 0.1) or 0.1)
            box.setValue(_float(value, 0.0))
            box.valueChanged.connect(lambda v, k=key: self._set(k, v))
        elif param.kind == "combo":
            box = QtWidgets.QComboBox(parent)
            box.setSizeAdjustPolicy(
                QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            box.setMinimumContentsLength(8)
            box.addItems([str(c) for c in param.choices])
            box.setCurrentIndex(max(box.findText(str(value)), 0))
            box.currentTextChanged.connect(lambda v, k=key: self._set(k, v))
        elif param.kind == "bool":
            box = QtWidgets.QCheckBox(parent)
            box.setChecked(bool(value))
            box.toggled.connect(lambda v, k=key: self._set(k, v))
        elif param.multiline:
            box = QtWidgets.QPlainTextEdit(parent)
            box.setMaximumHeight(48)
            box.setPlainText(str(value or ""))
            box.textChanged.connect(lambda b=box, k=key: self._set(k, b.toPlainText()))
        else:
            box = QtWidgets.QLineEdit(parent)
            box.setText(str(value or ""))
            box.textChanged.connect(lambda v, k=key: self._set(k, v))
        box.setToolTip(_limits(param))
        return named(box, control_name(key))

    def _set(self, key: str, value: Any) -> None:
        if not self._building:
            self.mode.set_parameter(key, value)

    def generate(self, prompt: str) -> Any:
        return self.mode.generate(prompt)


def _int(value: Any, fallback: int) -> int:
    try:
        return max(-INT_LIMIT, min(INT_LIMIT, int(value)))
    except (TypeError, ValueError):
        return fallback


def _float(value: Any, fallback: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return fallback


def _decimals(step: Any) -> int:
    text = f"{_float(step, 0.01):.6f}".rstrip("0")
    return max(2, min(6, len(text.split(".")[1]) if "." in text else 2))


def _limits(param: Any) -> str:
    if param.kind in ("int", "float") and param.minimum is not None:
        return f"{param.label}: {param.minimum} … {param.maximum}"
    return str(param.label)


def _short(text: str, length: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1] + "…"
