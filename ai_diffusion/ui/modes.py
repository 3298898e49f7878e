"""The mode switcher (Generate · Edit · Upscale · Live): one small row of buttons, and under
it only the chosen mode's controls. A mode without a page yet is shown disabled and says so.

Object names: ai_mode_<mode> (the buttons), ai_mode_pages.
"""

from __future__ import annotations

from typing import Any

from ..qt import QtWidgets, Signal
from .names import named

MODES = {
    "generate": "Generate",
    "edit": "Edit",
    "upscale": "Upscale",
    "live": "Live",
}
COMING = {
    "edit": "Edit with an instruction model: choose an edit model in the model list.",
    "upscale": "Upscaling from the docker is not available yet; use the CLI's upscale.",
    "live": "Live painting (regenerate as you paint) is not available yet.",
}


class ModeSwitcher(QtWidgets.QWidget):
    mode_changed = Signal(str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.buttons: dict[str, Any] = {}
        self.pages = named(QtWidgets.QStackedWidget(self), "ai_mode_pages")
        self._pages: dict[str, Any] = {}
        self.mode = ""
        group = QtWidgets.QButtonGroup(self)
        group.setExclusive(True)
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        for mode, text in MODES.items():
            button = named(QtWidgets.QToolButton(self), f"ai_mode_{mode}")
            button.setText(text)
            button.setCheckable(True)
            button.setAutoRaise(True)
            # As narrow as the word: four of them share a 300 px docker.
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(text) + 12)
            button.setSizePolicy(
                QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed
            )
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            group.addButton(button)
            row.addWidget(button)
            self.buttons[mode] = button
            self.set_page(mode, None)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addLayout(row)
        col.addWidget(self.pages)
        self.set_mode("generate")

    def set_page(self, mode: str, page: Any | None) -> None:
        """Give ``mode`` its controls (None: not available yet, the button says why)."""
        button = self.buttons[mode]
        button.setEnabled(page is not None or mode == "generate")
        button.setToolTip(COMING.get(mode, "") if page is None else "")
        widget = page if page is not None else QtWidgets.QWidget(self)
        previous = self._pages.get(mode)
        if previous is not None:
            self.pages.removeWidget(previous)
            previous.deleteLater()
        self.pages.addWidget(widget)
        self._pages[mode] = widget
        if self.mode == mode:
            self.pages.setCurrentWidget(widget)

    def page(self, mode: str) -> Any:
        return self._pages[mode]

    def set_mode(self, mode: str) -> None:
        if not self.buttons[mode].isEnabled():
            return
        self.buttons[mode].setChecked(True)
        self.pages.setCurrentWidget(self._pages[mode])
        if mode != self.mode:
            self.mode = mode
            self.mode_changed.emit(mode)
