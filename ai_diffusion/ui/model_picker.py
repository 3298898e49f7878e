"""The docker's model section: the usable models (incomplete ones greyed, with what they
lack), the family, Edit mode, sampling values, and an Advanced part that overrides the family
and pieces. It shows ``state/model_choice.py`` and forwards the painter's changes to it.

Object names: ai_checkpoint, ai_model_family, ai_model_missing, ai_edit, ai_edit_references,
ai_steps, ai_cfg,
ai_guidance, ai_sampler, ai_scheduler, ai_sampling_reset, ai_model_advanced,
ai_model_advanced_section, ai_model_arch, ai_model_te1, ai_model_te2, ai_model_te3,
ai_model_vae.
"""

from __future__ import annotations

from typing import Any

from ..errors import UserError
from ..qt import Qt, QtGui, QtWidgets
from ..state.model_choice import ModelChoice
from ..state.observable import bind
from .model_lists import combo
from .names import named as _named

AUTOMATIC = "(automatic)"
INCOMPLETE = QtGui.QColor(140, 140, 140)


def _set_items(box: Any, names: list[str], current: str) -> None:
    box.blockSignals(True)
    box.clear()
    box.addItems([AUTOMATIC, *names])
    box.setCurrentText(current or AUTOMATIC)
    box.blockSignals(False)


class ModelPicker(QtWidgets.QGroupBox):
    def __init__(
        self, choice: ModelChoice, report: Any, parent: Any = None, parts_elsewhere: bool = False
    ) -> None:
        super().__init__("Model", parent)
        self.choice = choice
        self.report = report  # shows a message to the painter
        col = QtWidgets.QVBoxLayout(self)
        self.models = combo(self, "ai_checkpoint")
        self.family = _named(QtWidgets.QLabel("", self), "ai_model_family")
        self.family.setWordWrap(True)  # a long family name does not widen the docker
        self.missing = _named(QtWidgets.QLabel("", self), "ai_model_missing")
        self.missing.setWordWrap(True)
        self.missing.setStyleSheet("color: #c0392b")
        self.edit = _named(QtWidgets.QCheckBox("Edit mode", self), "ai_edit")  # fmt: skip
        self.edit.setToolTip(
            'Change the image (or the selection) as the prompt says, e.g. "make the sky '
            'stormy". For instruction-editing models: Flux.1 Kontext, Qwen-Image Edit.'
        )
        # The model's row; the docker puts the style picker beside it (one row for both keeps
        # the painting loop in sight on a laptop screen).
        self.top_row = QtWidgets.QHBoxLayout()
        self.top_row.setContentsMargins(0, 0, 0, 0)
        self.top_row.setSpacing(2)
        self.top_row.addWidget(self.models, 3)
        col.addLayout(self.top_row)
        col.addWidget(self.family)
        col.addWidget(self.missing)
        # Parts the docker places elsewhere (Edit's page, the Advanced section); a picker on
        # its own (parts_elsewhere=False) shows them under the model.
        self.edit_box = QtWidgets.QWidget(self)
        edit_col = QtWidgets.QVBoxLayout(self.edit_box)
        edit_col.setContentsMargins(0, 0, 0, 0)
        edit_col.addWidget(self.edit)
        self.references = _named(QtWidgets.QListWidget(self), "ai_edit_references")
        self.references.setToolTip("Layers the edit model also looks at (tick them)")
        self.references.setMaximumHeight(64)
        self.references.setVisible(False)
        edit_col.addWidget(self.references)
        self.sampling_box = QtWidgets.QWidget(self)
        self.sampling_box.setLayout(self._sampling_grid())
        self.pieces_box = QtWidgets.QWidget(self)
        pieces_col = QtWidgets.QVBoxLayout(self.pieces_box)
        pieces_col.setContentsMargins(0, 0, 0, 0)
        self.advanced = _named(QtWidgets.QToolButton(self), "ai_model_advanced")
        self.advanced.setText("Model pieces")
        self.advanced.setCheckable(True)
        self.advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced.setArrowType(Qt.ArrowType.RightArrow)
        pieces_col.addWidget(self.advanced)
        pieces_col.addWidget(self._advanced_section())
        if parts_elsewhere:
            self.setTitle("")
            self.setFlat(True)
            col.setContentsMargins(0, 0, 0, 0)
            col.setSpacing(2)
        else:
            for part in (self.edit_box, self.sampling_box, self.pieces_box):
                col.addWidget(part)
        self._wire()

    def _sampling_grid(self) -> Any:
        grid = QtWidgets.QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        self.steps = _named(QtWidgets.QSpinBox(self), "ai_steps")
        self.steps.setRange(1, 200)
        self.cfg = _named(QtWidgets.QDoubleSpinBox(self), "ai_cfg")
        self.cfg.setRange(0.0, 30.0)
        self.cfg.setSingleStep(0.5)
        self.guidance = _named(QtWidgets.QDoubleSpinBox(self), "ai_guidance")
        self.guidance.setRange(0.0, 30.0)
        self.guidance.setSingleStep(0.5)
        self.guidance.setToolTip("Flux guidance (the model's own; CFG stays at 1)")
        self.sampler = combo(self, "ai_sampler")
        self.scheduler = combo(self, "ai_scheduler")
        self.reset = _named(QtWidgets.QPushButton("Defaults", self), "ai_sampling_reset")
        self.reset.setToolTip("The model family's sampling defaults and resolution")
        self.guidance_label = QtWidgets.QLabel("Guidance", self)
        grid.addWidget(QtWidgets.QLabel("Steps", self), 0, 0)
        grid.addWidget(self.steps, 0, 1)
        grid.addWidget(QtWidgets.QLabel("CFG", self), 0, 2)
        grid.addWidget(self.cfg, 0, 3)
        grid.addWidget(self.guidance_label, 1, 0)
        grid.addWidget(self.guidance, 1, 1)
        grid.addWidget(self.reset, 1, 2, 1, 2)
        grid.addWidget(self.sampler, 2, 0, 1, 2)
        grid.addWidget(self.scheduler, 2, 2, 1, 2)
        return grid

    def _advanced_section(self) -> Any:
        self.section = _named(QtWidgets.QWidget(self), "ai_model_advanced_section")
        form = QtWidgets.QFormLayout(self.section)
        form.setContentsMargins(0, 0, 0, 0)
        self.arch = combo(self.section, "ai_model_arch")
        self.arch.addItem(AUTOMATIC)
        for family_id, title in self.choice.family_choices():
            self.arch.addItem(title, family_id)
        self.encoders = [combo(self.section, f"ai_model_te{i}") for i in (1, 2, 3)]
        self.vae = combo(self.section, "ai_model_vae")
        form.addRow("Family", self.arch)
        for i, box in enumerate(self.encoders, 1):
            form.addRow(f"Text encoder {i}", box)
        form.addRow("VAE", self.vae)
        self.section.setVisible(False)
        return self.section

    def _wire(self) -> None:
        c = self.choice
        self.models.currentTextChanged.connect(self._on_pick)
        self.edit.toggled.connect(lambda on: setattr(c, "edit", on))
        self.steps.valueChanged.connect(lambda v: c.set_sampling("steps", v))
        self.cfg.valueChanged.connect(lambda v: c.set_sampling("cfg", round(v, 2)))
        self.guidance.valueChanged.connect(lambda v: c.set_sampling("guidance", round(v, 2)))
        self.sampler.textActivated.connect(lambda v: c.set_sampling("sampler", v))
        self.scheduler.textActivated.connect(lambda v: c.set_sampling("scheduler", v))
        self.reset.clicked.connect(c.reset_sampling)
        self.advanced.toggled.connect(self._toggle_advanced)
        self.arch.activated.connect(lambda _: self._override())
        for box in (*self.encoders, self.vae):
            box.activated.connect(lambda _: self._override())
        bind(c, "model", self._on_model)
        bind(c, "family_text", self.family.setText)
        bind(c, "missing_text", self._on_missing)
        bind(c, "edit_available", self.edit.setEnabled)
        bind(c, "edit", self.edit.setChecked)
        bind(c, "edit", lambda _: self._show_references())
        bind(c, "max_references", lambda _: self._show_references())
        bind(c, "steps", self.steps.setValue)
        bind(c, "cfg", self.cfg.setValue)
        bind(c, "guidance", self.guidance.setValue)
        bind(c, "guidance_used", self._on_guidance_used)
        bind(c, "sampler", self.sampler.setCurrentText)
        bind(c, "scheduler", self.scheduler.setCurrentText)
        c.entries_changed.connect(self._on_entries)

    def set_layers(self, layers: list[Any]) -> None:
        """The active document's layers, offered as reference images for edit models."""
        ticked = set(self.reference_layers())
        self.references.clear()
        for layer in layers:
            item = QtWidgets.QListWidgetItem(layer.name)
            item.setData(Qt.ItemDataRole.UserRole, layer.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = layer.id in ticked
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.references.addItem(item)

    def reference_layers(self) -> list[str]:
        """Ticked reference layers, at most as many as the model takes."""
        ids = [
            self.references.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.references.count())
            if self.references.item(i).checkState() == Qt.CheckState.Checked
        ]
        return ids[: self.choice.max_references] if self.choice.edit else []

    def _show_references(self) -> None:
        c = self.choice
        shown = c.edit and c.max_references > 0
        self.references.setVisible(shown)
        if shown:
            self.references.setToolTip(
                f"Up to {c.max_references} layers the edit model also looks at (tick them)"
            )

    def _on_pick(self, name: str) -> None:
        if name:
            self.choice.select(name)

    def _toggle_advanced(self, open_: bool) -> None:
        self.section.setVisible(open_)
        self.advanced.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)

    def _on_entries(self) -> None:
        c = self.choice
        self.models.blockSignals(True)
        self.models.clear()
        for i, entry in enumerate(c.entries):
            self.models.addItem(entry.name)
            tip = entry.title if entry.ready else f"{entry.title}: " + "; ".join(entry.missing)
            self.models.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
            if not entry.ready:
                self.models.setItemData(i, INCOMPLETE, Qt.ItemDataRole.ForegroundRole)
        self.models.setCurrentText(c.model)
        self.models.blockSignals(False)
        for box, names in ((self.sampler, c.samplers), (self.scheduler, c.schedulers)):
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
            box.blockSignals(False)
        self.sampler.setCurrentText(c.sampler)
        self.scheduler.setCurrentText(c.scheduler)

    def _on_model(self, name: str) -> None:
        self.models.blockSignals(True)
        self.models.setCurrentText(name)
        self.models.blockSignals(False)
        c = self.choice
        files = c.files
        override = c.override()
        index = self.arch.findData(override.family) if override.family else 0
        self.arch.setCurrentIndex(max(index, 0))
        encoders = list(files.text_encoders) if files else []
        for i, box in enumerate(self.encoders):
            chosen = override.text_encoders[i] if i < len(override.text_encoders) else ""
            _set_items(box, encoders, chosen)
        _set_items(self.vae, list(files.vaes) if files else [], override.vae or "")

    def _on_missing(self, text: str) -> None:
        self.missing.setText(f"Incomplete: {text}" if text else "")
        self.missing.setVisible(bool(text))

    def _on_guidance_used(self, used: bool) -> None:
        self.guidance.setVisible(used)
        self.guidance_label.setVisible(used)

    def _override(self) -> None:
        def chosen(box: Any) -> str:
            text = box.currentText()
            return "" if text == AUTOMATIC else text

        family = self.arch.currentData() if self.arch.currentIndex() > 0 else None
        entry = self.choice.entry()
        found = entry.pieces.text_encoders if entry else ()
        encoders = [chosen(box) for box in self.encoders]
        if any(encoders):  # slots left automatic keep the file found for them
            encoders = [e or (found[i] if i < len(found) else "") for i, e in enumerate(encoders)]
        try:
            self.choice.set_override(
                family=family, text_encoders=tuple(encoders), vae=chosen(self.vae) or None
            )
        except UserError as e:
            self.report(e.message)
