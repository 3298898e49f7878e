"""The docker's content widget."""

from __future__ import annotations

from typing import Any

from ai_diffusion.qt import QtWidgets
from ai_diffusion.version import __version__


class DockerWidget(QtWidgets.QWidget):  # type: ignore[misc]
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("ai_diffusion_content")
        layout = QtWidgets.QVBoxLayout(self)
        self.status = QtWidgets.QLabel(f"AI Image Generation {__version__}: not connected", self)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch()


def create_docker_widget(parent: Any = None) -> DockerWidget:
    return DockerWidget(parent)
