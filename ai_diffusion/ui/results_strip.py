"""The results: a strip of thumbnails under the Generate button.

Hovering a thumbnail previews it on the canvas (the document's preview layer); clicking keeps
it selected (and shown); double-clicking applies it as a layer; the context menu offers Apply,
Discard, Copy prompt and Reuse seed. While a job runs its step previews show at the start of
the strip, in the same place.

Object names: ai_history (the strip), ai_preview (the running job's preview), ai_apply,
ai_discard.
"""

from __future__ import annotations

from typing import Any

from ..qt import Qt, QtCore, QtGui, QtWidgets, Signal
from .names import named

THUMB = 56


class _Strip(QtWidgets.QListWidget):
    left = Signal()

    def leaveEvent(self, event: Any) -> None:
        super().leaveEvent(event)
        self.left.emit()


class ResultsStrip(QtWidgets.QWidget):
    """Shows results (objects with ``image.data`` PNG bytes, ``name``, ``prompt``, ``seed``);
    says what the painter wants done with them through its signals."""

    hovered = Signal(object)  # a result to preview on the canvas
    unhovered = Signal(object)  # the selected result (or None): show it again, or nothing
    selected = Signal(object)
    apply = Signal(object)
    discard = Signal(object)
    copy_prompt = Signal(object)
    reuse_seed = Signal(object)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.preview = named(QtWidgets.QLabel(self), "ai_preview")
        self.preview.setFixedSize(THUMB + 8, THUMB + 8)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setToolTip("The running job's latest step")
        self.preview.setVisible(False)
        self.history = named(_Strip(self), "ai_history")
        self.history.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.history.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.history.setWrapping(False)
        self.history.setIconSize(QtCore.QSize(THUMB, THUMB))
        self.history.setFixedHeight(THUMB + 22)
        self.history.setMouseTracking(True)
        self.history.setMovement(QtWidgets.QListView.Movement.Static)
        self.history.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.history.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.history.setToolTip(
            "Hover: see it on the canvas · click: keep it shown · double-click: apply"
        )
        self.apply_button = named(QtWidgets.QToolButton(self), "ai_apply")
        self.apply_button.setText("Apply")
        self.apply_button.setToolTip("Keep the selected result as a new layer (Ctrl+Alt+Shift+A)")
        self.discard_button = named(QtWidgets.QToolButton(self), "ai_discard")
        self.discard_button.setText("Discard")
        self.discard_button.setToolTip("Remove the selected result from the list")
        buttons = QtWidgets.QVBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.discard_button)
        buttons.addStretch()
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.preview)
        row.addWidget(self.history, 1)
        row.addLayout(buttons)
        self.history.itemEntered.connect(lambda item: self.hovered.emit(_result(item)))
        self.history.left.connect(lambda: self.unhovered.emit(self.selected_result()))
        self.history.itemClicked.connect(lambda item: self.selected.emit(_result(item)))
        self.history.itemDoubleClicked.connect(lambda item: self.apply.emit(_result(item)))
        self.history.customContextMenuRequested.connect(self._menu)
        self.apply_button.clicked.connect(self._apply_current)
        self.discard_button.clicked.connect(self._discard_current)

    def set_results(self, results: list[Any]) -> None:
        keep = self.history.currentRow()
        self.history.clear()
        for result in results:
            pixmap = QtGui.QPixmap()
            pixmap.loadFromData(result.image.data)
            item = QtWidgets.QListWidgetItem(QtGui.QIcon(pixmap), "")
            item.setToolTip(result.name)
            item.setData(Qt.ItemDataRole.UserRole, result)
            self.history.addItem(item)
        if 0 <= keep < self.history.count():
            self.history.setCurrentRow(keep)
        elif self.history.count():
            self.history.scrollToItem(self.history.item(self.history.count() - 1))

    def current(self) -> Any:
        """The selected result, else the newest one, else None."""
        item = self.history.currentItem()
        if item is None and self.history.count():
            item = self.history.item(self.history.count() - 1)
        return _result(item) if item is not None else None

    def selected_result(self) -> Any:
        item = self.history.currentItem()
        return _result(item) if item is not None else None

    def show_preview(self, data: bytes) -> None:
        pixmap = QtGui.QPixmap()
        if pixmap.loadFromData(data):
            self.preview.setPixmap(pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio))
            self.preview.setVisible(True)

    def end_preview(self) -> None:
        self.preview.setVisible(False)

    def _apply_current(self) -> None:
        self.apply.emit(self.current())

    def _discard_current(self) -> None:
        result = self.current()
        if result is not None:
            self.discard.emit(result)

    def menu_for(self, item: Any) -> Any:
        result = _result(item)
        menu = QtWidgets.QMenu(self)
        for text, signal in (
            ("Apply", self.apply),
            ("Discard", self.discard),
            ("Copy prompt", self.copy_prompt),
            ("Reuse seed", self.reuse_seed),
        ):
            action = menu.addAction(text)
            action.triggered.connect(lambda _=False, s=signal: s.emit(result))
        return menu

    def _menu(self, pos: Any) -> None:
        item = self.history.itemAt(pos)
        if item is not None:
            self.menu_for(item).popup(self.history.viewport().mapToGlobal(pos))


def _result(item: Any) -> Any:
    return item.data(Qt.ItemDataRole.UserRole)


class ResultsActions:
    """What the strip's signals do: preview on the canvas while hovered (the selected result
    comes back, or nothing, when the pointer leaves), apply, discard, copy the prompt, reuse the
    seed (``reuse_seed(seed)`` sets the panel's seed)."""

    def __init__(self, strip: ResultsStrip, controller: Any, reuse_seed: Any) -> None:
        self.controller = controller
        self._reuse_seed = reuse_seed
        self.hovered: Any = None
        strip.hovered.connect(self.hover)
        strip.unhovered.connect(self.unhover)
        strip.selected.connect(controller.show)
        strip.apply.connect(self.apply)
        strip.discard.connect(controller.discard)
        strip.copy_prompt.connect(self.copy_prompt)
        strip.reuse_seed.connect(self.reuse_seed)

    def hover(self, result: Any) -> None:
        self.hovered = result
        self.controller.show(result)

    def unhover(self, selected: Any) -> None:
        if selected is not None:
            self.controller.show(selected)
        elif self.hovered is not None:
            self.controller.hide(self.hovered)
        self.hovered = None

    def apply(self, result: Any) -> None:
        if result is None:
            self.controller.message = "Nothing to apply yet: generate first."
            return
        self.hovered = None
        self.controller.apply(result)

    def copy_prompt(self, result: Any) -> None:
        QtWidgets.QApplication.clipboard().setText(result.prompt)
        self.controller.message = "Prompt copied."

    def reuse_seed(self, result: Any) -> None:
        self._reuse_seed(result.seed)
        self.controller.message = f"The next Generate uses seed {result.seed}."
