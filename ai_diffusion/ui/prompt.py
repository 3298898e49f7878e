"""The prompt: grows with its text (two lines to eight), Ctrl+Enter generates.

Object names: ai_prompt.
"""

from __future__ import annotations

from typing import Any

from ..qt import Qt, QtCore, QtWidgets, Signal
from .names import named

MIN_LINES, MAX_LINES = 2, 8


class PromptEdit(QtWidgets.QPlainTextEdit):
    submitted = Signal()  # Ctrl+Enter

    def __init__(self, parent: Any = None, name: str = "ai_prompt", lines: int = MIN_LINES):
        super().__init__(parent)
        named(self, name)
        self.min_lines = lines
        self.setPlaceholderText("Describe the image, e.g. a lighthouse at dusk, oil painting")
        self.setToolTip("Ctrl+Enter generates")
        self.setTabChangesFocus(True)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed
        )
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def lines_shown(self) -> int:
        lines = int(self.document().documentLayout().documentSize().height())
        return max(self.min_lines, min(MAX_LINES, lines))

    def _fit(self, *_: Any) -> None:
        line = self.fontMetrics().lineSpacing()
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        self.setFixedHeight(self.lines_shown() * line + frame)

    @staticmethod
    def _is_submit(event: Any) -> bool:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        return bool(enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier)

    def event(self, event: Any) -> bool:
        # Krita's window shortcuts see keys first; Ctrl+Enter typed in the prompt is ours.
        if event.type() == QtCore.QEvent.Type.ShortcutOverride and self._is_submit(event):
            event.accept()
            return True
        return bool(super().event(event))

    def keyPressEvent(self, event: Any) -> None:
        if self._is_submit(event):
            self.submitted.emit()
            return
        super().keyPressEvent(event)
