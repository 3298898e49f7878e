"""The style picker at the top of the docker: one click chooses a style (model, LoRAs,
prompt template, negative prompt, sampling, resolution); a small menu makes one from the
current settings, edits, copies, deletes, exports and imports them. It shows
``state/style_choice.py`` and writes what a style sets into the docker's panels.

Object names: ai_style_picker (the row), ai_style_combo (the styles), ai_style_menu (its menu button), ai_style_new,
ai_style_edit, ai_style_copy, ai_style_delete, ai_style_export, ai_style_import (the menu's
actions); the dialog: ai_style_dialog, ai_style_name, ai_style_template, ai_style_negative,
ai_style_steps, ai_style_cfg, ai_style_sampler, ai_style_scheduler, ai_style_summary,
ai_style_take_current, ai_style_ok.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from ..errors import UserError
from ..qt import Qt, QtWidgets
from ..state.observable import bind
from ..state.params import LoraRef, Params
from ..state.style_choice import Applied, StyleChoice
from ..state.styles import Style, StyleSampling, unique_name
from .model_lists import combo
from .names import named

NO_STYLE = "No style"


class Panel(Protocol):
    """What the picker needs of the docker."""

    controller: Any  # its ``message`` line and ``client`` (the server's models)
    negative: Any  # the negative prompt's text edit
    lora_box: Any  # the LoRA rows (``model_lists.LoraBox``)

    def params(self) -> Params: ...


def describe(style: Style) -> str:
    """The style in a few words (the combo's and the dialog's summary)."""
    model = style.model.file or "the current model"
    loras = ", ".join(f"{lora.name} ({lora.strength:g})" for lora in style.loras) or "none"
    size = "canvas size" if style.resolution.own_size else f"{style.resolution.scale:.0%}"
    values = style.sampling.values()
    sampling = ", ".join(f"{k} {v}" for k, v in values.items()) or "the model's defaults"
    return (
        f"Model: {model}\nLoRAs: {loras}\nSampling: {sampling}\nResolution: {size}\n"
        f"Prompt: {style.template}"
    )


class StylePicker(QtWidgets.QWidget):
    def __init__(self, choice: StyleChoice, panel: Panel, parent: Any = None) -> None:
        super().__init__(parent)
        named(self, "ai_style_picker")
        self.choice = choice
        self.panel = panel
        self.dialog: StyleDialog | None = None
        # Stand-ins for the file dialogs and the question (tests replace them).
        self.ask_save_path = self._ask_save_path
        self.ask_open_path = self._ask_open_path
        self.confirm = self._confirm
        self.box = combo(self, "ai_style_combo")
        self.box.setToolTip("Style: model, LoRAs, prompt template, negative prompt, sampling")
        self.menu_button = named(QtWidgets.QToolButton(self), "ai_style_menu")
        self.menu_button.setText("…")
        self.menu_button.setToolTip("Styles: new, edit, copy, delete, export, import")
        self.menu_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QtWidgets.QMenu(self.menu_button)
        self.actions_: dict[str, Any] = {}
        for name, text, slot in (
            ("new", "New from current settings…", self.new_style),
            ("edit", "Edit…", self.edit_style),
            ("copy", "Copy", self.copy_style),
            ("delete", "Delete", self.delete_style),
            ("export", "Export…", self.export_style),
            ("import", "Import…", self.import_style),
        ):
            action = menu.addAction(text)
            action.setObjectName(f"ai_style_{name}")
            action.triggered.connect(lambda _=False, slot=slot: slot())
            self.actions_[name] = action
        self.menu_button.setMenu(menu)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.box, 1)
        row.addWidget(self.menu_button)
        self.box.activated.connect(self._on_activated)
        choice.styles_changed.connect(self._fill)
        self._fill()
        bind(choice, "current", self._show)
        for problem in choice.store.problems:
            self.say(problem)

    # Showing ---------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.panel.controller.message = text

    def _fill(self) -> None:
        self.box.blockSignals(True)
        self.box.clear()
        self.box.addItem(NO_STYLE, "")
        for style in self.choice.store.styles():
            self.box.addItem(style.name, style.name)
            tip = describe(style)
            if style.shipped:
                tip = f"Comes with the plugin (copy it to change it).\n{tip}"
            self.box.setItemData(self.box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.box.blockSignals(False)
        self._show(self.choice.current)

    def _show(self, name: str) -> None:
        index = max(self.box.findData(name), 0) if name else 0
        self.box.blockSignals(True)
        self.box.setCurrentIndex(index)
        self.box.blockSignals(False)
        style = self.choice.style
        shipped = style is not None and style.shipped
        for key in ("edit", "copy", "export"):
            self.actions_[key].setEnabled(style is not None)
        self.actions_["delete"].setEnabled(style is not None and not shipped)
        self.actions_["edit"].setText("Edit a copy…" if shipped else "Edit…")

    # Choosing --------------------------------------------------------------------------------

    def _on_activated(self, index: int) -> None:
        self.choose(self.box.itemData(index) or "")

    def choose(self, name: str) -> None:
        client = self.panel.controller.client
        applied = self.choice.choose(name, getattr(client, "models", None))
        if applied is None:
            self.say("No style: the prompt is sent as you write it.")
            return
        self._apply(applied)

    def _apply(self, applied: Applied) -> None:
        """The negative prompt and the LoRAs go into the docker's panels."""
        self.panel.negative.setPlainText(applied.negative)
        self.set_loras(applied.loras)
        self.say(applied.message)

    def set_loras(self, loras: tuple[LoraRef, ...]) -> None:
        rows = self.panel.lora_box.list
        for row in list(rows.rows):
            rows.remove(row)
        for lora in loras:
            rows.add(lora.name, lora.name, lora.strength)

    # The menu --------------------------------------------------------------------------------

    def _run(self, action: Any) -> Any:
        try:
            return action()
        except UserError as e:
            self.say(e.message)
            return None

    def new_style(self) -> StyleDialog:
        name = unique_name("My style", self.choice.store.names())
        style = self.choice.from_current(name, self.panel.params().request)
        return self._open(StyleDialog(style, self._current, self, title="New style"), None)

    def edit_style(self) -> StyleDialog | None:
        style = self.choice.style
        if style is None:
            self.say("Choose a style to edit first.")
            return None
        if style.shipped:
            copy = replace(
                style, name=unique_name(f"{style.name} (copy)", self.choice.store.names())
            )
            title = f"A copy of '{style.name}'"
            return self._open(StyleDialog(copy, self._current, self, title=title), None)
        dialog = StyleDialog(style, self._current, self, title=f"Edit '{style.name}'")
        return self._open(dialog, style.name)

    def _current(self, name: str, template: str) -> Style:
        return self.choice.from_current(name, self.panel.params().request, template)

    def _open(self, dialog: StyleDialog, old_name: str | None) -> StyleDialog:
        self.dialog = dialog
        dialog.accepted.connect(lambda: self._save(dialog, old_name))
        dialog.open()
        return dialog

    def _save(self, dialog: StyleDialog, old_name: str | None) -> None:
        style = dialog.style()
        if old_name is None:
            saved = self._run(lambda: self.choice.create(style))
            if saved is not None:
                self.choose(saved.name)
        else:
            saved = self._run(lambda: self.choice.update(old_name, style))
            if saved is not None:
                self.say(f"Style '{saved.name}' saved.")

    def copy_style(self) -> None:
        current = self.choice.current
        if current:
            saved = self._run(lambda: self.choice.copy(current))
            if saved is not None:
                self.say(f"Saved a copy: '{saved.name}'.")

    def delete_style(self) -> None:
        style = self.choice.style
        if style is None:
            return
        if not self.confirm(f"Delete the style '{style.name}'?"):
            return
        try:
            self.choice.delete(style.name)
        except UserError as e:
            self.say(e.message)
            return
        self.say(f"Style '{style.name}' deleted.")

    def export_style(self) -> None:
        style = self.choice.style
        if style is None:
            self.say("Choose a style to export first.")
            return
        path = self.ask_save_path(f"{style.name}.json")
        if not path:
            return
        target = Path(path)
        if target.suffix.lower() != ".json":
            target = target.with_name(target.name + ".json")
        self._run(lambda: self.choice.export(style.name, target))
        if target.exists():
            self.say(f"Style '{style.name}' exported to {target}.")

    def import_style(self) -> None:
        path = self.ask_open_path()
        if not path:
            return
        saved = self._run(lambda: self.choice.import_file(Path(path)))
        if saved is not None:
            self.choose(saved.name)

    # Real dialogs ---------------------------------------------------------------------------

    def _ask_save_path(self, suggested: str) -> str:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export the style", suggested, "Style files (*.json)"
        )
        return str(path)

    def _ask_open_path(self) -> str:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Import a style", "", "Style files (*.json)"
        )
        return str(path)

    def _confirm(self, question: str) -> bool:
        answer = QtWidgets.QMessageBox.question(self, "Delete style", question)
        return bool(answer == QtWidgets.QMessageBox.StandardButton.Yes)


class StyleDialog(QtWidgets.QDialog):
    """A style's name, prompt template, negative prompt and sampling values; its model, LoRAs
    and size can be taken from the docker's current settings."""

    def __init__(self, style: Style, current: Any, parent: Any = None, title: str = "") -> None:
        super().__init__(parent)
        named(self, "ai_style_dialog")
        self.setWindowTitle(title or "Style")
        self.base = style
        self.current = current  # (name, template) → a style of the docker's current settings
        form = QtWidgets.QFormLayout(self)
        self.name = named(QtWidgets.QLineEdit(style.name, self), "ai_style_name")
        self.template = named(QtWidgets.QPlainTextEdit(style.template, self), "ai_style_template")
        self.template.setPlaceholderText("{prompt}, oil painting, visible brush strokes")
        self.template.setToolTip(
            "Your prompt goes where {prompt} stands; without {prompt} this is added after it."
        )
        self.template.setMaximumHeight(64)
        self.negative = named(QtWidgets.QPlainTextEdit(style.negative, self), "ai_style_negative")
        self.negative.setMaximumHeight(64)
        s = style.sampling
        self.steps = named(QtWidgets.QSpinBox(self), "ai_style_steps")
        self.steps.setRange(0, 200)
        self.steps.setSpecialValueText("model's default")
        self.steps.setValue(s.steps or 0)
        self.cfg = named(QtWidgets.QDoubleSpinBox(self), "ai_style_cfg")
        self.cfg.setRange(0.0, 30.0)
        self.cfg.setSingleStep(0.5)
        self.cfg.setSpecialValueText("model's default")
        self.cfg.setValue(s.cfg or 0.0)
        samplers = getattr(parent.choice.model_choice, "samplers", []) if parent else []
        schedulers = getattr(parent.choice.model_choice, "schedulers", []) if parent else []
        self.sampler = self._names("ai_style_sampler", samplers, s.sampler)
        self.scheduler = self._names("ai_style_scheduler", schedulers, s.scheduler)
        self.summary = named(QtWidgets.QLabel(describe(style), self), "ai_style_summary")
        self.summary.setWordWrap(True)
        self.take_current = named(
            QtWidgets.QCheckBox("Use the docker's current model, LoRAs and size", self),
            "ai_style_take_current",
        )
        self.take_current.toggled.connect(self._on_take_current)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel,
            parent=self,
        )
        ok = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        self.ok = named(ok, "ai_style_ok")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow("Name", self.name)
        form.addRow("Prompt", self.template)
        form.addRow("Negative", self.negative)
        form.addRow("Steps", self.steps)
        form.addRow("CFG", self.cfg)
        form.addRow("Sampler", self.sampler)
        form.addRow("Scheduler", self.scheduler)
        form.addRow(self.summary)
        form.addRow(self.take_current)
        form.addRow(buttons)
        self.name.textChanged.connect(lambda text: self.ok.setEnabled(bool(text.strip())))

    def _names(self, name: str, options: list[str], value: str | None) -> Any:
        box = combo(self, name)
        box.setEditable(True)
        box.addItems(["", *options])
        box.lineEdit().setPlaceholderText("model's default")
        box.setCurrentText(value or "")
        return box

    def _on_take_current(self, on: bool) -> None:
        shown = self.current("", self.base.template) if on else self.base
        self.summary.setText(describe(shown))

    def style(self) -> Style:
        """The style as the dialog says."""
        base = self.base
        if self.take_current.isChecked():
            now = self.current(base.name, base.template)
            base = replace(base, model=now.model, loras=now.loras, resolution=now.resolution)
        sampling = StyleSampling(
            steps=self.steps.value() or None,
            cfg=self.cfg.value() or None,
            guidance=base.sampling.guidance,
            sampler=self.sampler.currentText().strip() or None,
            scheduler=self.scheduler.currentText().strip() or None,
        )
        return replace(
            base,
            name=self.name.text().strip(),
            template=self.template.toPlainText(),
            negative=self.negative.toPlainText(),
            sampling=sampling,
            shipped=False,
        )
