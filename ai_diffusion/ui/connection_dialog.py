"""Connection settings: address, token or basic auth, TLS verification, Test and Refresh.

Object names: ai_backend_kind, ai_dialog_url, ai_auth_kind, ai_dialog_token, ai_username,
ai_password, ai_endpoint, ai_api_key, ai_worker_image, ai_own_models, ai_extra_servers,
ai_dialog_verify_tls, ai_test, ai_test_result, ai_dialog_refresh, ai_secret_status,
ai_session_only, ai_dialog_ok.

The dialog is opened non-modally (``open()``), so the UI never blocks; Test runs through the
controller on the asyncio loop and shows the exact error the connection would meet.
"""

from __future__ import annotations

from typing import Any

from ..qt import QtWidgets
from ..state.connection import (
    AUTH_KINDS,
    KINDS,
    SERVER_KINDS,
    Connection,
    ConnectionFields,
    clean_address,
)
from ..state.controller import Controller
from ..state.observable import bind
from .names import named as _named


class ConnectionDialog(QtWidgets.QDialog):
    def __init__(
        self,
        controller: Controller,
        connection: Connection,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("AI server connection")
        self.controller = controller
        self.connection = connection
        fields = connection.snapshot()
        secrets = connection.secrets
        form = QtWidgets.QFormLayout(self)
        self.kind = _named(QtWidgets.QComboBox(self), "ai_backend_kind")
        for kind, text in KINDS.items():
            self.kind.addItem(text, kind)
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
        self.endpoint = _named(QtWidgets.QLineEdit(fields.endpoint, self), "ai_endpoint")
        self.endpoint.setPlaceholderText("endpoint id from the RunPod console, e.g. 4m7x2k9q1abcde")
        self.api_key = _named(QtWidgets.QLineEdit(fields.api_key, self), "ai_api_key")
        self.api_key.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.worker_image = _named(
            QtWidgets.QLineEdit(fields.worker_image, self), "ai_worker_image"
        )
        self.worker_image.setPlaceholderText("runpod/worker-comfyui:5.8.5-sdxl")
        self.own_models = _named(QtWidgets.QLineEdit(fields.own_models, self), "ai_own_models")
        self.own_models.setPlaceholderText("checkpoints on your worker, comma-separated")
        self.own_models.setToolTip(
            "The serverless worker cannot list its models: name the checkpoints of your own "
            "image or network volume here. The official images' models are known."
        )
        self.extra_servers = _named(
            QtWidgets.QLineEdit(fields.extra_servers, self), "ai_extra_servers"
        )
        self.extra_servers.setPlaceholderText("more ComfyUI addresses, comma-separated")
        self.extra_servers.setToolTip(
            "Use several servers at once: each job goes to the one that will deliver soonest."
        )
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
        self.session_only.setChecked(connection.session_only or not secrets.persistent)
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
        self.accepted.connect(self.keep)
        buttons.rejected.connect(self.reject)
        form.addRow("Server", self.kind)
        form.addRow("Address", self.url)
        form.addRow("Endpoint", self.endpoint)
        form.addRow("API key", self.api_key)
        form.addRow("Worker image", self.worker_image)
        form.addRow("Models", self.own_models)
        form.addRow("More servers", self.extra_servers)
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
        self.kind.currentIndexChanged.connect(self._show_kind_fields)
        self.kind.setCurrentIndex(max(0, self.kind.findData(fields.kind)))
        self._show_kind_fields()
        self.test_button.clicked.connect(self.test)
        self.refresh.clicked.connect(controller.refresh_models)
        self._unbind = [
            bind(controller, "test_result", self.test_result.setText),
            bind(controller, "state", lambda s: self.refresh.setEnabled(s == "connected")),
        ]
        self.finished.connect(self._disconnect_bindings)

    def _show_auth_fields(self, *_: Any) -> None:
        kind = self.auth_kind.currentData()
        comfy = self.kind.currentData() in (None, *SERVER_KINDS)
        self.token.setEnabled(comfy and kind == "token")
        self.username.setEnabled(comfy and kind == "basic")
        self.password.setEnabled(comfy and kind == "basic")

    def _show_kind_fields(self, *_: Any) -> None:
        kind = self.kind.currentData()
        serverless = kind == "runpod-serverless"
        self.url.setEnabled(not serverless)
        self.auth_kind.setEnabled(kind in SERVER_KINDS)
        self._show_auth_fields()
        self.endpoint.setEnabled(serverless)
        self.worker_image.setEnabled(serverless)
        self.own_models.setEnabled(serverless)
        self.api_key.setEnabled(kind in ("runpod-serverless", "salad"))
        self.api_key.setPlaceholderText(
            "RunPod API key" if serverless else "Salad API key (when the gateway has auth)"
        )
        self.extra_servers.setEnabled(kind in SERVER_KINDS)
        self.url.setPlaceholderText(
            "https://<name>.salad.cloud"
            if kind == "salad"
            else "https://abc123-8188.proxy.runpod.net or 127.0.0.1:8188"
        )

    def _disconnect_bindings(self, *_: Any) -> None:
        for slot in self._unbind:
            try:
                self.controller.changed.disconnect(slot)
            except (TypeError, RuntimeError):
                pass  # already gone
        self._unbind = []

    def fields(self) -> ConnectionFields:
        url, user, password = clean_address(self.url.text())
        if user:  # a pasted login leaves the address for the login fields
            self.url.setText(url)
            self.auth_kind.setCurrentIndex(self.auth_kind.findData("basic"))
            self.username.setText(user)
            self.password.setText(password or "")
        return ConnectionFields(
            url=url,
            auth_kind=self.auth_kind.currentData() or "none",
            token=self.token.text().strip(),
            username=self.username.text().strip(),
            password=self.password.text(),
            verify_tls=self.verify_tls.isChecked(),
            kind=self.kind.currentData() or "auto",
            endpoint=self.endpoint.text().strip(),
            api_key=self.api_key.text().strip(),
            worker_image=self.worker_image.text().strip(),
            own_models=self.own_models.text().strip(),
            extra_servers=self.extra_servers.text().strip(),
        )

    def keep(self) -> None:
        """OK: the connection takes what the dialog says (the docker follows it)."""
        self.connection.update(self.fields(), self.session_only.isChecked())

    def test(self) -> None:
        fields = self.fields()
        missing = fields.missing()
        if missing:
            self.test_result.setText(missing)
            return
        try:
            config = fields.config()
        except Exception as e:  # a UserError in words
            self.test_result.setText(str(e))
            return
        self.controller.test_connection(config)
