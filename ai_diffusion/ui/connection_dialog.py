"""Connection settings: address, token or basic auth, TLS verification, Test and Refresh.

Object names: ai_dialog_url, ai_auth_kind, ai_dialog_token, ai_username, ai_password,
ai_dialog_verify_tls, ai_test, ai_test_result, ai_dialog_refresh, ai_secret_status,
ai_session_only, ai_dialog_ok.

The dialog is opened non-modally (``open()``), so the UI never blocks; Test runs through the
controller on the asyncio loop and shows the exact error the connection would meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..comfy import ServerConfig
from ..qt import QtWidgets
from ..secrets import SecretStore
from ..state.controller import Controller
from ..state.observable import bind
from .names import named as _named

AUTH_KINDS = {"none": "No login", "token": "Token (Bearer)", "basic": "User name and password"}


@dataclass
class ConnectionFields:
    """What the dialog edits; secrets stay here and in the secret store, never in settings."""

    url: str = ""
    auth_kind: str = "none"
    token: str = ""
    username: str = ""
    password: str = ""
    verify_tls: bool = True

    def config(self) -> ServerConfig:
        return ServerConfig(
            self.url.strip(),
            token=(self.token.strip() or None) if self.auth_kind == "token" else None,
            username=(self.username.strip() or None) if self.auth_kind == "basic" else None,
            password=(self.password or None) if self.auth_kind == "basic" else None,
            verify_tls=self.verify_tls,
        )


class ConnectionDialog(QtWidgets.QDialog):
    def __init__(
        self,
        controller: Controller,
        fields: ConnectionFields,
        secrets: SecretStore,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("AI server connection")
        self.controller = controller
        form = QtWidgets.QFormLayout(self)
        self.url = _named(QtWidgets.QLineEdit(fields.url, self), "ai_dialog_url")
        self.url.setPlaceholderText("https://abc123-8188.proxy.runpod.net or 127.0.0.1:8188")
        self.auth_kind = _named(QtWidgets.QComboBox(self), "ai_auth_kind")
        for kind, text in AUTH_KINDS.items():
            self.auth_kind.addItem(text, kind)
        self.token = _named(QtWidgets.QLineEdit(fields.token, self), "ai_dialog_token")
        self.username = _named(QtWidgets.QLineEdit(fields.username, self), "ai_username")
        self.password = _named(QtWidgets.QLineEdit(fields.password, self), "ai_password")
        for secret in (self.token, self.password):
            secret.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.verify_tls = _named(
            QtWidgets.QCheckBox("Verify the server's TLS certificate", self), "ai_dialog_verify_tls"
        )
        self.verify_tls.setChecked(fields.verify_tls)
        self.verify_tls.setToolTip(
            "Turn off only for a server with a self-signed certificate that you trust."
        )
        self.test_button = _named(QtWidgets.QPushButton("Test", self), "ai_test")
        self.test_result = _named(QtWidgets.QLabel("", self), "ai_test_result")
        self.test_result.setWordWrap(True)
        self.refresh = _named(QtWidgets.QPushButton("Refresh models", self), "ai_dialog_refresh")
        self.secret_status = _named(QtWidgets.QLabel(secrets.status, self), "ai_secret_status")
        self.secret_status.setWordWrap(True)
        self.session_only = _named(
            QtWidgets.QCheckBox("Keep the token for this session only", self), "ai_session_only"
        )
        # Without a password store there is no choice to make: the notice says so, and the box
        # records that the painter accepts typing the token again after a restart.
        self.session_only.setChecked(not secrets.persistent)
        self.session_only.setEnabled(secrets.persistent)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        self.ok_button = _named(
            buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok), "ai_dialog_ok"
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow("Address", self.url)
        form.addRow("Login", self.auth_kind)
        form.addRow("Token", self.token)
        form.addRow("User name", self.username)
        form.addRow("Password", self.password)
        form.addRow(self.verify_tls)
        form.addRow(self.secret_status)
        form.addRow(self.session_only)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.refresh)
        form.addRow(row)
        form.addRow(self.test_result)
        form.addRow(buttons)
        self.auth_kind.currentIndexChanged.connect(self._show_auth_fields)
        self.auth_kind.setCurrentIndex(max(0, self.auth_kind.findData(fields.auth_kind)))
        self._show_auth_fields()
        self.test_button.clicked.connect(self.test)
        self.refresh.clicked.connect(controller.refresh_models)
        self._unbind = [
            bind(controller, "test_result", self.test_result.setText),
            bind(controller, "state", lambda s: self.refresh.setEnabled(s == "connected")),
        ]
        self.finished.connect(self._disconnect_bindings)

    def _show_auth_fields(self, *_: Any) -> None:
        kind = self.auth_kind.currentData()
        self.token.setEnabled(kind == "token")
        self.username.setEnabled(kind == "basic")
        self.password.setEnabled(kind == "basic")

    def _disconnect_bindings(self, *_: Any) -> None:
        for slot in self._unbind:
            try:
                self.controller.changed.disconnect(slot)
            except (TypeError, RuntimeError):
                pass  # already gone
        self._unbind = []

    def fields(self) -> ConnectionFields:
        return ConnectionFields(
            url=self.url.text().strip(),
            auth_kind=self.auth_kind.currentData() or "none",
            token=self.token.text().strip(),
            username=self.username.text().strip(),
            password=self.password.text(),
            verify_tls=self.verify_tls.isChecked(),
        )

    def test(self) -> None:
        if not self.url.text().strip():
            self.test_result.setText("Enter the server's address first.")
            return
        self.controller.test_connection(self.fields().config())
