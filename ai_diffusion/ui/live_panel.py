"""The "Live painting" section: its own prompt, strength and seed, Start/Stop, Keep, and what
live mode has to say (paused, kept, why the model is slow). A mode switcher in the docker
hosts it; it reads nothing from other widgets except through the ``model`` callable.

Object names: ai_live_prompt, ai_live_strength, ai_live_seed, ai_live_new_seed, ai_live_start,
ai_live_keep, ai_live_message, ai_live_note.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..qt import Qt, QtWidgets
from ..state.live import LiveMode, LiveParams
from ..state.observable import bind
from ..state.params import LayerRegion
from .names import named as _named


class LivePanel(QtWidgets.QGroupBox):
    def __init__(
        self, live: LiveMode, model: Callable[[], tuple[str, str]], parent: Any = None
    ) -> None:
        """``model`` gives the docker's chosen checkpoint and negative prompt."""
        super().__init__("Live painting", parent)
        self.live = live
        self.model = model
        # The Generate page's regions (the docker sets this): they apply to live painting too.
        self.regions: Callable[[], tuple[LayerRegion, ...]] = tuple
        # The chosen style's template around the live prompt (the docker sets this).
        self.wrap: Callable[[str], str] = str
        col = QtWidgets.QVBoxLayout(self)
        self.prompt = _named(QtWidgets.QPlainTextEdit(self), "ai_live_prompt")
        self.prompt.setPlaceholderText("What the sketch shows, e.g. a red barn in snow")
        self.prompt.setMaximumHeight(64)
        self.strength = _named(
            QtWidgets.QSlider(Qt.Orientation.Horizontal, self), "ai_live_strength"
        )
        self.strength.setRange(10, 100)
        self.strength.setValue(int(live.params.strength * 100))
        self.strength.setToolTip(
            "How much the model may change: lower keeps more of your sketch; "
            "100% ignores it (outside a selection)"
        )
        self.strength_label = QtWidgets.QLabel(f"{self.strength.value()}%", self)
        strength_row = QtWidgets.QHBoxLayout()
        strength_row.addWidget(QtWidgets.QLabel("Strength", self))
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self.strength_label)
        self.seed = _named(QtWidgets.QSpinBox(self), "ai_live_seed")
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(live.params.seed)
        self.seed.setMinimumWidth(90)  # the docker is about 300 px wide
        self.new_seed = _named(QtWidgets.QPushButton("New", self), "ai_live_new_seed")
        self.new_seed.setToolTip("A new random seed")
        seed_row = QtWidgets.QHBoxLayout()
        seed_row.addWidget(QtWidgets.QLabel("Seed", self))
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        self.start = _named(QtWidgets.QPushButton("Start live", self), "ai_live_start")
        self.start.setCheckable(True)
        self.keep = _named(QtWidgets.QPushButton("Keep", self), "ai_live_keep")
        self.keep.setToolTip("Copy the live result into a new layer")
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.start, 1)
        buttons.addWidget(self.keep)
        self.message = _named(QtWidgets.QLabel("", self), "ai_live_message")
        self.message.setWordWrap(True)
        self.note = _named(QtWidgets.QLabel("", self), "ai_live_note")
        self.note.setWordWrap(True)
        col.addWidget(self.prompt)
        col.addLayout(strength_row)
        col.addLayout(seed_row)
        col.addLayout(buttons)
        col.addWidget(self.message)
        col.addWidget(self.note)
        self._wire()

    def _wire(self) -> None:
        live = self.live
        self.prompt.textChanged.connect(self.params_changed)
        self.strength.valueChanged.connect(self.params_changed)
        self.seed.valueChanged.connect(self.params_changed)
        self.new_seed.clicked.connect(lambda: self.seed.setValue(random.randrange(2**31)))
        self.start.clicked.connect(self.toggle)
        self.keep.clicked.connect(live.keep)
        bind(live, "active", self._on_active)
        bind(live, "has_result", self.keep.setEnabled)
        bind(live, "message", self.message.setText)
        bind(live, "note", self._on_note)

    def params(self) -> LiveParams:
        checkpoint, negative = self.model()
        return LiveParams(
            checkpoint=checkpoint,
            prompt=self.wrap(self.prompt.toPlainText()),
            negative_prompt=negative,
            strength=self.strength.value() / 100,
            seed=self.seed.value(),
            regions=self.regions(),
        )

    def params_changed(self, *_: Any) -> None:
        self.strength_label.setText(f"{self.strength.value()}%")
        self.live.set_params(self.params())

    def toggle(self) -> None:
        if self.live.active:
            self.live.stop()
        else:
            self.live.start(self.params())
        self.start.setChecked(self.live.active)

    def _on_active(self, active: bool) -> None:
        self.start.setChecked(active)
        self.start.setText("Stop live" if active else "Start live")

    def _on_note(self, note: str) -> None:
        self.note.setText(note)
        self.note.setVisible(bool(note))
