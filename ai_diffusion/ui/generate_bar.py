"""The main button: Generate, with the job's progress drawn inside it, how many jobs are
queued, and Cancel beside it; the strength slider under it says in words what it will do.

Object names: ai_generate (also the progress: ``value()``/``maximum()``), ai_queue, ai_cancel,
ai_strength, ai_strength_label, ai_elapsed.
"""

from __future__ import annotations

import time
from typing import Any

from ..qt import Qt, QtCore, QtGui, QtWidgets, Signal
from .names import named


class GenerateButton(QtWidgets.QPushButton):
    """A push button that fills from the left as the job's steps advance."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__("Generate", parent)
        self._value, self._maximum = 0, 1
        self.setMinimumHeight(30)
        font = self.font()
        font.setBold(True)
        self.setFont(font)

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return self._maximum

    def set_progress(self, value: int, maximum: int) -> None:
        self._value, self._maximum = max(0, value), max(maximum, 1)
        self.update()

    def setValue(self, value: int) -> None:
        self.set_progress(value, self._maximum)

    def fraction(self) -> float:
        return min(1.0, self._value / self._maximum)

    def paintEvent(self, event: Any) -> None:
        super().paintEvent(event)
        fraction = self.fraction()
        if fraction <= 0:
            return
        painter = QtGui.QPainter(self)
        colour = self.palette().color(QtGui.QPalette.ColorRole.Highlight)
        colour.setAlpha(110)
        rect = self.rect().adjusted(2, 2, -2, -2)
        rect.setWidth(int(rect.width() * fraction))
        painter.fillRect(rect, colour)
        painter.end()


def strength_words(percent: int, has_selection: bool) -> str:
    """What the strength does, in the painter's words."""
    if percent >= 100:
        return "Fill selection" if has_selection else "Generate"
    return f"Refine {percent} %"


class GenerateBar(QtWidgets.QWidget):
    """[ Generate ▓▓░░ ] [2 queued] [Cancel]  and  Strength ───●── Refine 60 %"""

    generate = Signal()
    cancel = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.button = named(GenerateButton(self), "ai_generate")
        self.button.setToolTip("Generate (Ctrl+Enter in the prompt, Ctrl+Alt+Shift+G anywhere)")
        self.queue = named(QtWidgets.QLabel("", self), "ai_queue")
        self.queue.setToolTip("Jobs of this plugin waiting or running")
        self.cancel_button = named(QtWidgets.QPushButton("Cancel", self), "ai_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Cancel this plugin's jobs (Ctrl+Alt+Shift+X)")
        self.strength = named(QtWidgets.QSlider(Qt.Orientation.Horizontal, self), "ai_strength")
        self.strength.setRange(5, 100)
        self.strength.setValue(100)
        self.strength.setToolTip(
            "100 % = generate (fill the selection); lower = refine what is there"
        )
        self.strength_label = named(QtWidgets.QLabel("", self), "ai_strength_label")
        self.strength_label.setMinimumWidth(
            self.strength_label.fontMetrics().horizontalAdvance("Fill selection ")
        )
        self.has_selection = False
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button, 1)
        row.addWidget(self.queue)
        row.addWidget(self.cancel_button)
        strength_row = QtWidgets.QHBoxLayout()
        strength_row.setContentsMargins(0, 0, 0, 0)
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self.strength_label)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addLayout(row)
        col.addLayout(strength_row)
        self.button.clicked.connect(self.generate)
        self.cancel_button.clicked.connect(self.cancel)
        self.strength.valueChanged.connect(self._say_strength)
        self._say_strength(self.strength.value())

    def set_selection(self, has_selection: bool) -> None:
        self.has_selection = has_selection
        self._say_strength(self.strength.value())

    def _say_strength(self, value: int) -> None:
        self.strength_label.setText(strength_words(value, self.has_selection))

    def set_queue(self, count: int) -> None:
        self.queue.setText(f"{count} queued" if count > 1 else "")
        self.queue.setVisible(count > 1)
        self.cancel_button.setEnabled(count > 0)

    def set_progress(self, progress: tuple[int, int]) -> None:
        self.button.set_progress(*progress)

    def sizeHint(self) -> Any:
        hint = super().sizeHint()
        return QtCore.QSize(min(hint.width(), 280), hint.height())


class ElapsedLabel(QtWidgets.QLabel):
    """Time since the first of this plugin's jobs started ("1:12 elapsed"): job APIs
    (serverless, Salad) report no steps, so this is how the painter sees it is alive."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__("", parent)
        named(self, "ai_elapsed")
        self.clock = time.monotonic
        self._since: float | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)

    def set_busy(self, busy: bool) -> None:
        if busy and self._since is None:
            self._since = self.clock()
            self._timer.start()
            self.tick()
        elif not busy:
            self._since = None
            self._timer.stop()
            self.setText("")

    def tick(self) -> None:
        if self._since is not None:
            seconds = int(self.clock() - self._since)
            self.setText(f"{seconds // 60}:{seconds % 60:02d} elapsed")
