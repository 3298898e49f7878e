"""The docker's content: connection, prompt, models, LoRAs, ControlNet layers, generate,
progress with live preview, and the results history.

Object names of the interactive widgets (the GUI tests drive the docker by them):
ai_server_url, ai_token, ai_verify_tls, ai_connect, ai_refresh, ai_settings, ai_status,
ai_device, ai_checkpoint (and the model section's names, listed in ``ui/model_picker.py``),
ai_prompt, ai_negative, ai_lora_pick, ai_lora_strength, ai_lora_add, ai_loras, ai_lora_remove,
ai_control_layer, ai_control_model, ai_control_strength, ai_control_add, ai_controls,
ai_control_remove, ai_strength, ai_batch, ai_seed, ai_seed_random, ai_generate, ai_cancel,
ai_progress, ai_message, ai_elapsed, ai_preview, ai_history, ai_apply, ai_discard, ai_live (the
"Live painting" panel, names in ``ui/live_panel.py``), ai_cloud_toggle,
ai_cloud_section (holds the "Cloud GPU" pod panel, whose names are listed in
``ui/pod_panel.py``; a pod that becomes ready connects the docker to it).

The connection settings dialog (ai_settings opens it) lists its own names in
``ui/connection_dialog.py``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..backends.select import RUNPOD_KEY_SECRET, SALAD_KEY_SECRET
from ..comfy import split_credentials
from ..qt import Qt, QtCore, QtGui, QtWidgets
from ..secrets import SecretStore
from ..settings import Settings
from ..state.controller import Connector, Controller, Params, Result
from ..state.document import DocumentSource
from ..state.live import LiveMode
from ..state.model_choice import ModelChoice
from ..state.observable import bind
from ..state.pods import PodController, ProviderFactory, default_factory
from .connection_dialog import ConnectionDialog, ConnectionFields
from .live_panel import LivePanel
from .model_lists import ControlBox, LoraBox, set_choices
from .model_picker import ModelPicker
from .names import named as _named
from .pod_panel import PodPanel

TOKEN_SECRET = "server_token"
# The job APIs' keys, by kind of server (the RunPod key is the pod panel's too).
API_KEY_SECRETS = {"runpod-serverless": RUNPOD_KEY_SECRET, "salad": SALAD_KEY_SECRET}
PASSWORD_SECRET = "server_password"


class DockerWidget(QtWidgets.QWidget):
    def __init__(
        self,
        controller: Controller,
        settings: Settings,
        settings_dir: Path | None,
        secrets: SecretStore,
        parent: Any = None,
        pods: PodController | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ai_diffusion_content")
        self.pods = pods or PodController(secrets, idle_minutes=settings.idle_stop_minutes)
        self.controller = controller
        self.settings = settings
        self.settings_dir = settings_dir
        self.secrets = secrets
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._connection_box())
        self.model_choice = ModelChoice(settings.model_overrides)
        self.model_picker = ModelPicker(
            self.model_choice, lambda text: setattr(self.controller, "message", text), self
        )
        self.checkpoint = self.model_picker.models
        layout.addWidget(self.model_picker)
        layout.addWidget(self._prompt_box())
        self.lora_box = LoraBox(self)
        self.control_box = ControlBox(lambda text: setattr(self.controller, "message", text), self)
        layout.addWidget(self.lora_box)
        layout.addWidget(self.control_box)
        layout.addLayout(self._generate_row())
        self.progress = _named(QtWidgets.QProgressBar(self), "ai_progress")
        self.progress.setTextVisible(False)
        self.message = _named(QtWidgets.QLabel("", self), "ai_message")
        self.message.setWordWrap(True)
        # Time since the first job started: job APIs (serverless, Salad) report no steps.
        self.elapsed = _named(QtWidgets.QLabel("", self), "ai_elapsed")
        self.clock = time.monotonic
        self._busy_since: float | None = None
        self._elapsed_timer = QtCore.QTimer(self)
        self._elapsed_timer.setInterval(1000)
        self._elapsed_timer.timeout.connect(self._show_elapsed)
        self.preview = _named(QtWidgets.QLabel(self), "ai_preview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(96)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.elapsed)
        layout.addWidget(self.preview)
        layout.addWidget(self._history_box())
        self.live = LiveMode(controller, debounce_ms=settings.live_debounce_ms)
        self.live_panel = _named(LivePanel(self.live, self._live_model, self), "ai_live")
        self.checkpoint.currentTextChanged.connect(self.live_panel.params_changed)
        layout.addWidget(self.live_panel)
        layout.addWidget(self._cloud_section())
        layout.addStretch()
        self._wire()
        self._load_settings()

    # Layout -------------------------------------------------------------------------------

    def _connection_box(self) -> Any:
        box = QtWidgets.QGroupBox("Server", self)
        form = QtWidgets.QFormLayout(box)
        self.url = _named(QtWidgets.QLineEdit(box), "ai_server_url")
        self.url.setPlaceholderText("https://abc123-8188.proxy.runpod.net or 127.0.0.1:8188")
        self.token = _named(QtWidgets.QLineEdit(box), "ai_token")
        self.token.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("token, if the server needs one")
        self.token.setToolTip(self.secrets.status)
        self.verify_tls = _named(
            QtWidgets.QCheckBox("Verify TLS certificate", box), "ai_verify_tls"
        )
        self.connect_button = _named(QtWidgets.QPushButton("Connect", box), "ai_connect")
        self.refresh = _named(QtWidgets.QPushButton("Refresh", box), "ai_refresh")
        self.refresh.setToolTip("Refresh the model lists from the server")
        self.settings_button = _named(QtWidgets.QPushButton("Settings…", box), "ai_settings")
        self.settings_button.setToolTip("Login, TLS, Test the connection")
        self.status = _named(QtWidgets.QLabel("Not connected.", box), "ai_status")
        self.status.setWordWrap(True)
        self.device = _named(QtWidgets.QLabel("", box), "ai_device")
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.refresh)
        buttons.addWidget(self.settings_button)
        form.addRow("Address", self.url)
        form.addRow("Token", self.token)
        form.addRow(self.verify_tls)
        form.addRow(buttons)
        form.addRow(self.status)
        form.addRow(self.device)
        return box

    def _live_model(self) -> tuple[str, str]:
        """Live painting uses the chosen model and negative prompt."""
        return self.checkpoint.currentText(), self.negative.toPlainText()

    def _cloud_section(self) -> Any:
        """Collapsible place of the "Cloud GPU" pod panel (rent a GPU, connect to it)."""
        self.cloud_toggle = _named(QtWidgets.QToolButton(self), "ai_cloud_toggle")
        self.cloud_toggle.setText("Cloud GPU")
        self.cloud_toggle.setCheckable(True)
        self.cloud_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.cloud_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.cloud_section = _named(QtWidgets.QWidget(self), "ai_cloud_section")
        inner = QtWidgets.QVBoxLayout(self.cloud_section)
        inner.setContentsMargins(0, 0, 0, 0)
        self.pod_panel = PodPanel(self.pods, self.cloud_section)
        inner.addWidget(self.pod_panel)
        self.pods.ready.connect(self.connect_to_pod)
        self.pods.released.connect(self._pod_released, Qt.ConnectionType.QueuedConnection)
        self._pod_url: str | None = None
        bind(self.controller, "busy", self.pods.job_busy)  # idle auto-stop counts from here
        bind(self.live, "busy", self.pods.job_busy)  # live painting keeps the pod busy too
        self.cloud_section.setVisible(False)

        def toggle(open_: bool) -> None:
            self.cloud_section.setVisible(open_)
            arrow = Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow
            self.cloud_toggle.setArrowType(arrow)

        self.cloud_toggle.toggled.connect(toggle)
        frame = QtWidgets.QWidget(self)
        col = QtWidgets.QVBoxLayout(frame)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.cloud_toggle)
        col.addWidget(self.cloud_section)
        return frame

    def _prompt_box(self) -> Any:
        box = QtWidgets.QGroupBox("Prompt", self)
        col = QtWidgets.QVBoxLayout(box)
        self.prompt = _named(QtWidgets.QPlainTextEdit(box), "ai_prompt")
        self.prompt.setPlaceholderText(
            "Describe the image, e.g. a lighthouse at dusk, oil painting"
        )
        self.prompt.setMaximumHeight(80)
        self.negative = _named(QtWidgets.QPlainTextEdit(box), "ai_negative")
        self.negative.setPlaceholderText("What to avoid (negative prompt)")
        self.negative.setMaximumHeight(48)
        col.addWidget(self.prompt)
        col.addWidget(self.negative)
        return box

    def _generate_row(self) -> Any:
        grid = QtWidgets.QGridLayout()
        self.strength = _named(QtWidgets.QSlider(Qt.Orientation.Horizontal, self), "ai_strength")
        self.strength.setRange(5, 100)
        self.strength.setValue(100)
        self.strength_label = QtWidgets.QLabel("", self)
        self.batch = _named(QtWidgets.QSpinBox(self), "ai_batch")
        self.batch.setRange(1, 8)
        self.seed = _named(QtWidgets.QSpinBox(self), "ai_seed")
        self.seed.setRange(0, 2**31 - 1)
        self.seed_random = _named(QtWidgets.QCheckBox("random seed", self), "ai_seed_random")
        self.seed_random.setChecked(True)
        self.generate_button = _named(QtWidgets.QPushButton("Generate", self), "ai_generate")
        self.cancel_button = _named(QtWidgets.QPushButton("Cancel", self), "ai_cancel")
        self.cancel_button.setEnabled(False)
        grid.addWidget(QtWidgets.QLabel("Strength", self), 0, 0)
        grid.addWidget(self.strength, 0, 1)
        grid.addWidget(self.strength_label, 0, 2)
        grid.addWidget(QtWidgets.QLabel("Batch", self), 1, 0)
        grid.addWidget(self.batch, 1, 1)
        grid.addWidget(self.seed_random, 1, 2)
        grid.addWidget(QtWidgets.QLabel("Seed", self), 2, 0)
        grid.addWidget(self.seed, 2, 1, 1, 2)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.cancel_button)
        grid.addLayout(buttons, 3, 0, 1, 3)
        return grid

    def _history_box(self) -> Any:
        box = QtWidgets.QGroupBox("Results", self)
        col = QtWidgets.QVBoxLayout(box)
        self.history = _named(QtWidgets.QListWidget(box), "ai_history")
        self.history.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.history.setIconSize(QtCore.QSize(64, 64))
        self.history.setMaximumHeight(90)
        self.history.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        row = QtWidgets.QHBoxLayout()
        self.apply_button = _named(QtWidgets.QPushButton("Apply", box), "ai_apply")
        self.discard_button = _named(QtWidgets.QPushButton("Discard", box), "ai_discard")
        row.addWidget(self.apply_button)
        row.addWidget(self.discard_button)
        col.addWidget(self.history)
        col.addLayout(row)
        return box

    # Behaviour ----------------------------------------------------------------------------

    def _wire(self) -> None:
        c = self.controller
        self.connect_button.clicked.connect(self.toggle_connection)
        self.refresh.clicked.connect(c.refresh_models)
        self.settings_button.clicked.connect(self.open_connection_dialog)
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button.clicked.connect(self.cancel)
        self.apply_button.clicked.connect(self.apply_result)
        self.discard_button.clicked.connect(self.discard_result)
        self.history.itemClicked.connect(self._show_result)
        self.strength.valueChanged.connect(self._update_strength_label)
        bind(c, "connection_message", self.status.setText)
        bind(c, "state", self._on_state)
        bind(c, "device", self.device.setText)
        bind(c, "message", self.message.setText)
        bind(c, "progress", self._on_progress)
        bind(c, "busy", self.cancel_button.setEnabled)
        bind(c, "busy", self._on_busy)
        c.models_changed.connect(self._on_models)
        c.preview.connect(self._on_preview)
        c.history_changed.connect(self.refresh_history)
        self._update_strength_label(self.strength.value())

    def _load_settings(self) -> None:
        s = self.settings
        self.url.setText(s.server_url)
        self.verify_tls.setChecked(s.verify_tls)
        self.negative.setPlainText(s.negative_prompt)
        self.batch.setValue(s.batch_size)
        self.token.setText(self.secrets.get(TOKEN_SECRET) or "")
        self.password = self.secrets.get(PASSWORD_SECRET) or ""
        key_name = API_KEY_SECRETS.get(s.backend_kind)
        self.api_key = (self.secrets.get(key_name) or "") if key_name else ""
        self.take_login_from_address()  # a file written before passwords were moved out

    def take_login_from_address(self) -> None:
        """A pasted ``https://user:password@host`` becomes the login (basic auth; the password
        goes to the password store with the other secrets) and the field shows the address
        without it, so the password never reaches the settings file or the screen."""
        address, user, password = split_credentials(self.url.text())
        if user is None and password is None:
            return
        self.url.setText(address)
        self.settings.auth_kind = "basic"
        self.settings.username = user or ""
        self.password = password or ""

    def save_settings(self) -> None:
        self.take_login_from_address()
        s = self.settings
        s.server_url = self.url.text().strip()
        s.verify_tls = self.verify_tls.isChecked()
        s.negative_prompt = self.negative.toPlainText()
        s.batch_size = self.batch.value()
        if self.model_choice.model:
            s.checkpoint = self.model_choice.model
        s.model_overrides = self.model_choice.saved
        if not s.session_only_secrets:
            self.secrets.set(TOKEN_SECRET, self.token.text().strip())
            self.secrets.set(PASSWORD_SECRET, self.password)
            key_name = API_KEY_SECRETS.get(s.backend_kind)
            if key_name and self.api_key:
                self.secrets.set(key_name, self.api_key)
        if self.settings_dir is not None:
            s.save(self.settings_dir)

    def _update_strength_label(self, value: int) -> None:
        self.strength_label.setText(f"{value}%")
        self.strength.setToolTip(
            "100% = generate (fill the selection); lower = refine what is there"
        )

    def toggle_connection(self) -> None:
        if self.controller.state in ("connected", "reconnecting"):
            self.controller.disconnect_server()
            return
        self.save_settings()
        self.controller.connect_server(self.connection_fields().config())

    def connection_fields(self) -> ConnectionFields:
        token = self.token.text().strip()
        kind = self.settings.auth_kind
        if kind == "none" and token:
            kind = "token"  # a token typed in the docker is meant to be used
        return ConnectionFields(
            url=self.url.text().strip(),
            auth_kind=kind,
            token=token,
            username=self.settings.username,
            password=self.password,
            verify_tls=self.verify_tls.isChecked(),
            kind=self.settings.backend_kind,
            endpoint=self.settings.serverless_endpoint,
            api_key=self.api_key,
            worker_image=self.settings.worker_image,
            own_models=self.settings.own_models,
            extra_servers=self.settings.extra_servers,
        )

    def open_connection_dialog(self) -> ConnectionDialog:
        dialog = ConnectionDialog(self.controller, self.connection_fields(), self.secrets, self)
        dialog.session_only.setChecked(
            self.settings.session_only_secrets or not self.secrets.persistent
        )

        def accepted() -> None:
            fields = dialog.fields()
            self.url.setText(fields.url)
            self.token.setText(fields.token)
            self.verify_tls.setChecked(fields.verify_tls)
            self.settings.auth_kind = fields.auth_kind
            self.settings.username = fields.username
            self.password = fields.password
            s = self.settings
            s.backend_kind = fields.kind
            s.serverless_endpoint = fields.endpoint
            s.worker_image = fields.worker_image
            s.own_models = fields.own_models
            s.extra_servers = fields.extra_servers
            self.api_key = fields.api_key
            session_only = dialog.session_only.isChecked() and self.secrets.persistent
            if session_only and not self.settings.session_only_secrets:
                self.secrets.delete(TOKEN_SECRET)  # forget what an earlier session stored
                self.secrets.delete(PASSWORD_SECRET)
                for name in API_KEY_SECRETS.values():
                    self.secrets.delete(name)
            self.settings.session_only_secrets = session_only
            self.save_settings()

        dialog.accepted.connect(accepted)
        self.dialog = dialog
        dialog.open()
        return dialog

    def connect_to_pod(self, url: str, token: str) -> None:
        """A cloud pod is ready: connect to its ComfyUI with the pod's token."""
        self._pod_url = url
        self.url.setText(url)
        self.token.setText(token)
        self.settings.auth_kind = "token" if token else "none"
        self.settings.backend_kind = "auto"  # a pod runs ComfyUI: found at once
        self.save_settings()
        self.controller.connect_server(self.connection_fields().config())

    def _pod_released(self) -> None:
        """The pod the docker is connected to stopped or ended: disconnect rather than keep
        trying to reconnect to it."""
        connected = self.controller.state in ("connecting", "connected", "reconnecting")
        if connected and self._pod_url and self.url.text().strip() == self._pod_url:
            self.controller.disconnect_server()

    def _on_busy(self, busy: bool) -> None:
        if busy and self._busy_since is None:
            self._busy_since = self.clock()
            self._elapsed_timer.start()
            self._show_elapsed()
        elif not busy:
            self._busy_since = None
            self._elapsed_timer.stop()
            self.elapsed.setText("")

    def _show_elapsed(self) -> None:
        if self._busy_since is not None:
            seconds = int(self.clock() - self._busy_since)
            self.elapsed.setText(f"{seconds // 60}:{seconds % 60:02d} elapsed")

    def _on_state(self, state: str) -> None:
        connected = state in ("connected", "reconnecting")
        self.connect_button.setText("Disconnect" if connected else "Connect")
        self.refresh.setEnabled(state == "connected")

    def _on_models(self) -> None:
        client = self.controller.client
        if client is None:
            return
        m = client.models
        self.model_choice.set_server_models(m, self.model_choice.model or self.settings.checkpoint)
        set_choices(self.lora_box.pick, m.loras)
        set_choices(self.control_box.model, m.controlnets)
        self.canvas_changed()

    def canvas_changed(self) -> None:
        """The active document changed: layer choices and its results history."""
        document = self.controller.documents.active()
        try:
            layers = document.layers() if document is not None else []
            self.control_box.set_layers(layers)
            self.model_picker.set_layers(layers)
        except Exception as e:  # the adapter could not list layers: say so, keep going
            self.controller.message = getattr(e, "message", f"Could not list the layers: {e}")
        self.refresh_history()

    def params(self) -> Params:
        m = self.model_choice
        return Params(
            prompt=self.prompt.toPlainText(),
            negative_prompt=self.negative.toPlainText(),
            strength=self.strength.value() / 100,
            batch_size=self.batch.value(),
            seed=None if self.seed_random.isChecked() else self.seed.value(),
            steps=m.steps,
            cfg=m.cfg,
            sampler=m.sampler,
            scheduler=m.scheduler,
            loras=self.lora_box.loras(),
            controls=self.control_box.controls(),
            references=self.model_picker.reference_layers(),
            **m.request_fields(),
        )

    # Actions (also triggered by Krita shortcuts) ---------------------------------------

    def generate(self) -> None:
        self.save_settings()
        self.progress.setValue(0)
        self.controller.generate(self.params())

    def cancel(self) -> None:
        self.controller.cancel()

    def toggle_live(self) -> None:
        self.live_panel.toggle()

    def keep_live(self) -> None:
        self.live.keep()

    def _selected_result(self) -> Result | None:
        item = self.history.currentItem()
        if item is None and self.history.count():
            item = self.history.item(self.history.count() - 1)
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _show_result(self, item: Any) -> None:
        result = item.data(Qt.ItemDataRole.UserRole)
        if result is not None:
            self.controller.show(result)

    def apply_result(self) -> None:
        result = self._selected_result()
        if result is None:
            self.message.setText("Nothing to apply yet: generate first.")
            return
        self.controller.apply(result)

    def discard_result(self) -> None:
        result = self._selected_result()
        if result is not None:
            self.controller.discard(result)

    def refresh_history(self) -> None:
        self.history.clear()
        for result in self.controller.history():
            pixmap = QtGui.QPixmap()
            pixmap.loadFromData(result.image.data)
            item = QtWidgets.QListWidgetItem(QtGui.QIcon(pixmap), "")
            item.setToolTip(result.name)
            item.setData(Qt.ItemDataRole.UserRole, result)
            self.history.addItem(item)

    def _on_progress(self, progress: tuple[int, int]) -> None:
        value, maximum = progress
        self.progress.setMaximum(max(maximum, 1))
        self.progress.setValue(value)

    def _on_preview(self, data: bytes) -> None:
        pixmap = QtGui.QPixmap()
        if pixmap.loadFromData(data):
            self.preview.setPixmap(pixmap.scaled(160, 160, Qt.AspectRatioMode.KeepAspectRatio))


def create_docker_widget(
    parent: Any = None,
    documents: DocumentSource | None = None,
    settings_dir: Path | None = None,
    secrets: SecretStore | None = None,
    connector: Connector | None = None,
    pods: PodController | None = None,
    providers: ProviderFactory = default_factory,
) -> DockerWidget:
    """The docker content. Inside Krita the plugin passes Krita's documents, the app-data
    folder and ``providers`` (makes the cloud providers at the addresses from the environment,
    ``ProviderEndpoints.provider``); tests pass doubles (``connector`` stands in for
    ``ComfyClient.connect``, ``pods`` is the cloud GPU controller, built over ``providers``
    when not given)."""
    if documents is None:
        from ..state.no_documents import NoDocuments

        documents = NoDocuments()
    settings = Settings.load(settings_dir) if settings_dir is not None else Settings()
    secrets = secrets or SecretStore()
    controller = Controller(documents, connector)
    if pods is None:
        pods = PodController(secrets, providers, idle_minutes=settings.idle_stop_minutes)
    return DockerWidget(controller, settings, settings_dir, secrets, parent, pods)
