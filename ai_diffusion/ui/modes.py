"""The mode switcher (Generate · Edit · Upscale · Live · Workflow): one small row of buttons, and under
it only the chosen mode's controls. A mode without a page yet is shown disabled and says so.

Object names: ai_mode_<mode> (the buttons), ai_mode_pages.
"""

from __future__ import annotations

from typing import Any

from ..qt import QtCore, QtWidgets, Signal
from .names import named

MODES = {
    "generate": "Generate",
    "edit": "Edit",
    "upscale": "Upscale",
    "live": "Live",
    "workflow": "Workflow",
}
COMING = {
    "edit": "Edit with an instruction model: choose an edit model in the model list.",
    "live": "Live painting (regenerate as you paint) is not available yet.",
    "workflow": "Run a ComfyUI workflow of your own: not available yet.",
}


class WrappingRow(QtWidgets.QLayout):
    """Widgets side by side, each at least its minimum width, sharing the width left over;
    those that do not fit go on to the next row (the height follows the width)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[Any] = []
        self.setContentsMargins(0, 0, 0, 0)
        self.setSpacing(0)

    def addItem(self, item: Any) -> None:
        self.items.append(item)

    def count(self) -> int:
        return len(self.items)

    def itemAt(self, index: int) -> Any:
        return self.items[index] if 0 <= index < len(self.items) else None

    def takeAt(self, index: int) -> Any:
        return self.items.pop(index) if 0 <= index < len(self.items) else None

    def expandingDirections(self) -> Any:
        return QtCore.Qt.Orientation.Horizontal

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QtCore.QRect(0, 0, width, 0), move=False)

    def minimumSize(self) -> Any:
        widths = [i.minimumSize().width() for i in self.items] or [0]
        return QtCore.QSize(max(widths), self._row_height())

    def sizeHint(self) -> Any:
        return QtCore.QSize(sum(i.minimumSize().width() for i in self.items), self._row_height())

    def setGeometry(self, rect: Any) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def _row_height(self) -> int:
        return max([i.sizeHint().height() for i in self.items] or [0])

    def _place(self, rect: Any, move: bool) -> int:
        rows: list[list[Any]] = [[]]
        used = 0
        for item in self.items:
            width = item.minimumSize().width()
            if rows[-1] and used + width > rect.width():
                rows.append([])
                used = 0
            rows[-1].append(item)
            used += width
        height = self._row_height()
        for n, row in enumerate(rows):
            spare = rect.width() - sum(i.minimumSize().width() for i in row)
            x = rect.x()
            for k, item in enumerate(row):
                extra = spare // len(row) + (1 if k < spare % len(row) else 0)
                width = item.minimumSize().width() + max(extra, 0)
                if move:
                    item.setGeometry(QtCore.QRect(x, rect.y() + n * height, width, height))
                x += width
        return height * len(rows)


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
        row = WrappingRow()  # one row; two when the docker is too narrow for all the words
        for mode, text in MODES.items():
            button = named(QtWidgets.QToolButton(self), f"ai_mode_{mode}")
            button.setText(text)
            button.setCheckable(True)
            button.setAutoRaise(True)
            # As narrow as the word: they share a 300 px docker (wrapping when they must).
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
