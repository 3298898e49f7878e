"""The connection: one line when connected ("● RunPod RTX 4090 · $0.69/h · 12 models"),
which opens the connection panel; the full form only when not connected. The Cloud GPU panel
and the "Add models" panel live inside the connection panel, each behind its toggle (one row).

Every field writes into the :class:`~ai_diffusion.state.connection.Connection` and follows it;
nothing here is the source of truth, and the address is never shown with a password in it.

Object names: ai_connection_line, ai_connection_panel, ai_server_url, ai_token, ai_verify_tls,
ai_connect, ai_refresh, ai_settings, ai_status, ai_device, ai_cloud_toggle, ai_cloud_section,
ai_models_toggle, ai_models_section (the pod panel's names are listed in ``ui/pod_panel.py``,
the models panel's in ``ui/model_transfer_panel.py``).
"""

from __future__ import annotations

from typing import Any

from ..qt import Qt, QtWidgets, Signal
from ..state.observable import bind
from ..state.session import Session, connection_line
from .model_transfer_panel import ModelTransferPanel
from .names import named
from .pod_panel import PodPanel


class ConnectionLine(QtWidgets.QToolButton):
    """The one line; clicking it opens or closes the panel."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        named(self, "ai_connection_line")
        self.setCheckable(True)
        self.setAutoRaise(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setToolTip("Server connection: click to open its settings")


class ConnectionPanel(QtWidgets.QWidget):
    settings_requested = Signal()

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        named(self, "ai_connection_panel")
        self.session = session
        connection, controller = session.connection, session.controller
        self.form = QtWidgets.QWidget(self)
        form = QtWidgets.QFormLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        self.url = named(QtWidgets.QLineEdit(self.form), "ai_server_url")
        self.url.setPlaceholderText("https://abc123-8188.proxy.runpod.net or 127.0.0.1:8188")
        self.token = named(QtWidgets.QLineEdit(self.form), "ai_token")
        self.token.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("token, if the server needs one")
        self.token.setToolTip(session.secrets.status)
        self.verify_tls = named(
            QtWidgets.QCheckBox("Verify TLS certificate", self.form), "ai_verify_tls"
        )
        form.addRow("Address", self.url)
        form.addRow("Token", self.token)
        form.addRow(self.verify_tls)
        self.connect_button = named(QtWidgets.QPushButton("Connect", self), "ai_connect")
        self.refresh = named(QtWidgets.QPushButton("Refresh", self), "ai_refresh")
        self.refresh.setToolTip("Refresh the model lists from the server")
        self.settings_button = named(QtWidgets.QPushButton("Settings…", self), "ai_settings")
        self.settings_button.setToolTip("Kind of server, login, TLS, Test the connection")
        self.status = named(QtWidgets.QLabel("Not connected.", self), "ai_status")
        self.status.setWordWrap(True)
        self.device = named(QtWidgets.QLabel("", self), "ai_device")
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.refresh)
        buttons.addWidget(self.settings_button)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 4)
        col.setSpacing(2)
        col.addWidget(self.form)
        col.addLayout(buttons)
        col.addWidget(self.status)
        col.addWidget(self.device)
        col.addWidget(self._cloud_section(session))
        # Widgets → state: as the painter types (a pasted login moves out of the address).
        self.url.textChanged.connect(self._address_typed)
        self.url.editingFinished.connect(lambda: self._show(self.url, connection.address))
        self.token.textChanged.connect(connection.set_token)
        self.verify_tls.toggled.connect(lambda on: setattr(connection, "verify_tls", on))
        # State → widgets.
        bind(connection, "address", lambda text: self._follow(self.url, text))
        bind(connection, "token", lambda text: self._follow(self.token, text))
        bind(connection, "verify_tls", self.verify_tls.setChecked)
        bind(controller, "connection_message", self.status.setText)
        bind(controller, "device", self.device.setText)
        bind(controller, "state", self._on_state)
        self.connect_button.clicked.connect(self.toggle_connection)
        self.refresh.clicked.connect(controller.refresh_models)
        self.settings_button.clicked.connect(self.settings_requested)

    def _cloud_section(self, session: Session) -> Any:
        """Collapsible places of the "Cloud GPU" pod panel (rent a GPU, connect to it) and of
        the "Add models" panel (onto the connected server); their toggles share one row."""
        self.cloud_toggle, self.cloud_section = _collapsible(
            self, "Cloud GPU", "ai_cloud_toggle", "ai_cloud_section"
        )
        self.pod_panel = PodPanel(session.pods, self.cloud_section)
        self.cloud_section.layout().addWidget(self.pod_panel)
        self.models_toggle, self.models_section = _collapsible(
            self, "Add models", "ai_models_toggle", "ai_models_section"
        )
        self.models_toggle.setToolTip("Download a model onto the server, or upload one")
        self.models_panel = ModelTransferPanel(session.model_transfers, self.models_section)
        self.models_section.layout().addWidget(self.models_panel)
        frame = QtWidgets.QWidget(self)
        col = QtWidgets.QVBoxLayout(frame)
        col.setContentsMargins(0, 0, 0, 0)
        toggles = QtWidgets.QHBoxLayout()
        toggles.setContentsMargins(0, 0, 0, 0)
        toggles.addWidget(self.cloud_toggle)
        toggles.addWidget(self.models_toggle)
        toggles.addStretch()
        col.addLayout(toggles)
        col.addWidget(self.cloud_section)
        col.addWidget(self.models_section)
        return frame

    def _address_typed(self, text: str) -> None:
        connection = self.session.connection
        connection.type_address(text)
        if "@" in text:  # a pasted login left the address: show the address without it
            self._show(self.url, connection.address)

    @staticmethod
    def _follow(field: Any, text: str) -> None:
        if field.text().strip() != text:
            field.setText(text)

    @staticmethod
    def _show(field: Any, text: str) -> None:
        if field.text() != text:
            field.setText(text)

    def _on_state(self, state: str) -> None:
        connected = state in ("connected", "reconnecting")
        self.form.setVisible(not connected)  # the full form only when not connected
        self.connect_button.setText("Disconnect" if connected else "Connect")
        self.refresh.setEnabled(state == "connected")

    def toggle_connection(self) -> None:
        if self.session.controller.state in ("connected", "reconnecting"):
            self.session.controller.disconnect_server()
            return
        self.session.connect()


def _collapsible(parent: Any, text: str, toggle_name: str, section_name: str) -> tuple[Any, Any]:
    """A toggle with an arrow and the (closed) section it opens."""
    toggle = named(QtWidgets.QToolButton(parent), toggle_name)
    toggle.setText(text)
    toggle.setCheckable(True)
    toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toggle.setArrowType(Qt.ArrowType.RightArrow)
    section = named(QtWidgets.QWidget(parent), section_name)
    inner = QtWidgets.QVBoxLayout(section)
    inner.setContentsMargins(0, 0, 0, 0)
    section.setVisible(False)

    def opened(open_: bool) -> None:
        section.setVisible(open_)
        toggle.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)

    toggle.toggled.connect(opened)
    return toggle, section


class ConnectionSection(QtWidgets.QWidget):
    """The line and, under it, the panel: open when not connected, closed once connected
    (the painting loop needs the room); the line opens it again."""

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session
        self.line = ConnectionLine(self)
        self.panel = ConnectionPanel(session, self)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.line)
        col.addWidget(self.panel)
        self.line.toggled.connect(self.panel.setVisible)
        controller = session.controller
        self._update_line()
        controller.changed.connect(lambda *_: self._update_line())
        controller.models_changed.connect(self._update_line)
        session.connection.changed.connect(lambda *_: self._update_line())
        bind(controller, "state", self._on_state)

    def _update_line(self) -> None:
        self.line.setText(connection_line(self.session))

    def _on_state(self, state: str) -> None:
        if state == "connected":
            self.line.setChecked(False)
        elif state in ("disconnected", "error"):
            self.line.setChecked(True)
        self.panel.setVisible(self.line.isChecked())
