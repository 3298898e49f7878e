"""The docker's "Cloud GPU" section: provider and key, GPU choice with $/h, Create with its
states, and a pod bar with $/h, time running, money spent, Stop / Resume / Terminate.

Object names: ai_pod_provider, ai_pod_key, ai_pod_save_key, ai_pod_find, ai_pod_gpu,
ai_pod_create, ai_pod_states, ai_pod_bar, ai_pod_stop, ai_pod_resume, ai_pod_terminate,
ai_pod_idle, ai_pod_message; models that stay: ai_pod_volume (the box), ai_pod_volume_size,
ai_pod_volume_choice ("New volume" or one of the account's), ai_pod_volume_region (RunPod: the
data center of a new volume), ai_pod_volume_cost; starter sets:
ai_pod_starter_<family id> (one box each).
"""

from __future__ import annotations

from typing import Any

from ..qt import QObject, Qt, QtCore, QtWidgets, exec_dialog
from ..state.pods import PROVIDERS, STARTER_SETS, PodController, offer_volume_price
from .names import named as _named


class PodPanel(QtWidgets.QGroupBox):
    def __init__(self, pods: PodController, parent: Any = None) -> None:
        super().__init__("Cloud GPU", parent)
        self.pods = pods
        form = QtWidgets.QFormLayout(self)
        self.provider = _named(QtWidgets.QComboBox(self), "ai_pod_provider")
        for key, title in PROVIDERS.items():
            self.provider.addItem(title, key)
        self.key = _named(QtWidgets.QLineEdit(self), "ai_pod_key")
        self.key.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.key.setToolTip(
            "Used as soon as you type it, until Krita closes. Save key also keeps it in your "
            "system's password store for next time."
        )
        self.save_key = _named(QtWidgets.QPushButton("Save key", self), "ai_pod_save_key")
        self.save_key.setToolTip("Keep the key in your system's password store for next time")
        key_row = QtWidgets.QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.save_key)
        self.find = _named(QtWidgets.QPushButton("Find GPUs", self), "ai_pod_find")
        self.gpu = _named(QtWidgets.QComboBox(self), "ai_pod_gpu")
        self.create = _named(QtWidgets.QPushButton("Create pod", self), "ai_pod_create")
        # Short words: the docker is ~300 px wide; the cost line (wrapped) says the rest.
        self.volume = _named(QtWidgets.QCheckBox("Keep models on volume", self), "ai_pod_volume")
        self.volume.setToolTip(
            "Keep models on a network volume: models you add stay on it when the pod ends, and "
            "the next pod mounts it. The volume is billed every month while it exists."
        )
        self.volume_size = _named(QtWidgets.QSpinBox(self), "ai_pod_volume_size")
        self.volume_size.setRange(10, 4000)
        self.volume_size.setSuffix(" GB")
        self.volume_size.setValue(pods.volume_gb)
        self.volume_choice = _named(QtWidgets.QComboBox(self), "ai_pod_volume_choice")
        self.volume_choice.addItem("New volume", "")
        self.volume_choice.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.volume_choice.setMinimumContentsLength(8)
        self.volume_region = _named(QtWidgets.QComboBox(self), "ai_pod_volume_region")
        self.volume_region.setToolTip(
            "Where a new RunPod volume is made: pods that use it are rented in that data center"
        )
        self.volume_region.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.volume_region.setMinimumContentsLength(8)
        self._show_regions()
        self.volume_cost = _named(QtWidgets.QLabel("", self), "ai_pod_volume_cost")
        self.volume_cost.setWordWrap(True)
        self.starters: dict[str, QtWidgets.QCheckBox] = {}
        starters = QtWidgets.QVBoxLayout()
        heading = QtWidgets.QLabel("Starter models, downloaded when the pod is ready:", self)
        heading.setWordWrap(True)
        starters.addWidget(heading)
        for starter in STARTER_SETS.values():
            box = _named(QtWidgets.QCheckBox(starter.short, self), f"ai_pod_starter_{starter.id}")
            box.setToolTip(
                f"{starter.label()}, downloaded by the pod when it is ready: "
                + ", ".join(m.label for m in starter.models)
            )
            box.setChecked(starter.id in pods.starter_sets)
            self.starters[starter.id] = box
            starters.addWidget(box)
        self.states = _named(QtWidgets.QListWidget(self), "ai_pod_states")
        self.states.setMaximumHeight(70)
        self.bar = _named(QtWidgets.QLabel("No pod.", self), "ai_pod_bar")
        self.bar.setWordWrap(True)
        self.stop = _named(QtWidgets.QPushButton("Stop", self), "ai_pod_stop")
        self.resume = _named(QtWidgets.QPushButton("Resume", self), "ai_pod_resume")
        self.terminate = _named(QtWidgets.QPushButton("Terminate", self), "ai_pod_terminate")
        actions = QtWidgets.QHBoxLayout()
        for button in (self.stop, self.resume, self.terminate):
            # As wide as the word (styles pad push buttons to 80 px): the docker is ~300 px.
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 16)
            actions.addWidget(button)
        self.idle = _named(QtWidgets.QSpinBox(self), "ai_pod_idle")
        self.idle.setRange(0, 600)
        self.idle.setSuffix(" min")
        self.idle.setToolTip("Stop the pod after this long without a job (0 = never)")
        self.idle.setValue(int(pods.idle.limit // 60))
        self.message = _named(QtWidgets.QLabel("", self), "ai_pod_message")
        self.message.setWordWrap(True)
        form.addRow("Provider", self.provider)
        form.addRow("Key", key_row)
        form.addRow(self.find, self.gpu)
        form.addRow(self.volume)
        form.addRow(self.volume_choice)  # one a row: side by side they widen a 300 px docker
        form.addRow(self.volume_region)
        form.addRow(self.volume_size)
        form.addRow(self.volume_cost)
        form.addRow(starters)
        form.addRow(self.create)
        form.addRow(self.states)
        form.addRow(self.bar)
        form.addRow(actions)
        form.addRow("Idle stop", self.idle)
        form.addRow(self.message)
        self._wire()

    def _wire(self) -> None:
        p = self.pods
        self.provider.currentIndexChanged.connect(self._provider_changed)
        self.key.textChanged.connect(p.use_key)
        self.save_key.clicked.connect(self._save_key)
        self.find.clicked.connect(lambda: p.find_gpus())
        self.create.clicked.connect(self._create)
        self.stop.clicked.connect(lambda: p.stop())
        self.resume.clicked.connect(lambda: p.resume())
        self.terminate.clicked.connect(self._terminate)
        self.idle.valueChanged.connect(p.set_idle_minutes)
        p.message.connect(self.message.setText)
        p.gpus_changed.connect(self._show_gpus)
        p.state_changed.connect(lambda s: self.states.addItem(s))
        p.pod_changed.connect(lambda: self.bar.setText(p.cost_line()))
        self.volume.toggled.connect(self._volume_toggled)
        self.volume_size.valueChanged.connect(self._volume_size_changed)
        self.volume_choice.currentIndexChanged.connect(self._volume_chosen)
        self.volume_region.currentIndexChanged.connect(self._region_chosen)
        self.gpu.currentIndexChanged.connect(self._gpu_chosen)
        p.volumes_changed.connect(self._show_volumes)
        for family, box in self.starters.items():
            box.toggled.connect(lambda on, family=family: self._starter_toggled(family, on))
        self._provider_changed()

    def _save_key(self) -> None:
        self.pods.save_key(self.key.text())
        self._show_key()

    def _provider_changed(self, *_: Any) -> None:
        self.pods.use_provider(self.provider.currentData())
        self._show_key()
        self._show_volume()
        if self.volume.isChecked() and self.pods.has_key():
            self.pods.find_volumes()

    # Models that stay ------------------------------------------------------------------------

    def _show_volume(self) -> None:
        """The box, size, choice and data center as the provider allows; the cost as it is."""
        available = self.pods.volumes_supported()
        if not available and self.volume.isChecked():
            self.volume.setChecked(False)
        self.volume.setEnabled(available)
        on = available and self.volume.isChecked()
        self.volume_choice.setEnabled(on)
        self.volume_size.setEnabled(on and not self.pods.volume_id)
        regions = self.pods.provider_name == "runpod"
        self.volume_region.setVisible(regions)
        self.volume_region.setEnabled(on and regions and not self.pods.volume_id)
        self.volume_cost.setText(self.pods.volume_cost_line())

    def _show_regions(self) -> None:
        chosen = self.pods.data_center
        self.volume_region.blockSignals(True)
        self.volume_region.clear()
        for center, name in self.pods.data_centers:
            self.volume_region.addItem(f"{center} ({name})" if name != center else center, center)
        self.volume_region.setCurrentIndex(max(0, self.volume_region.findData(chosen)))
        self.volume_region.blockSignals(False)

    def _region_chosen(self, *_: Any) -> None:
        self.pods.choose_data_center(self.volume_region.currentData() or "")
        self._show_volume()

    def _gpu_chosen(self, *_: Any) -> None:
        self.pods.choose_gpu(self.gpu.currentData())
        self._show_volume()

    def _volume_toggled(self, on: bool) -> None:
        self.pods.use_volume = on
        self._show_volume()
        if on and self.pods.has_key():
            self.pods.find_volumes()  # the account's volumes, to choose one

    def _volume_size_changed(self, size: int) -> None:
        self.pods.volume_gb = size
        self._show_volume()

    def _volume_chosen(self, *_: Any) -> None:
        self.pods.volume_id = self.volume_choice.currentData() or ""
        self._show_volume()

    def _show_volumes(self) -> None:
        chosen = self.pods.volume_id
        self.volume_choice.blockSignals(True)
        self.volume_choice.clear()
        self.volume_choice.addItem("New volume", "")
        for v in self.pods.volumes:
            where = f", {v.data_center}" if v.data_center else ""
            self.volume_choice.addItem(f"{v.name} ({v.size_gb} GB{where})", v.id)
        self.volume_choice.setCurrentIndex(max(0, self.volume_choice.findData(chosen)))
        self.volume_choice.blockSignals(False)
        self._show_regions()
        self._volume_chosen()

    def _starter_toggled(self, family: str, on: bool) -> None:
        if on:
            self.pods.starter_sets.add(family)
        else:
            self.pods.starter_sets.discard(family)

    def _show_key(self) -> None:
        """The field shows the key typed this session for the chosen provider (masked); a
        saved key is only named in the placeholder."""
        self.key.setText(self.pods.typed_key())
        self.key.setPlaceholderText(
            "API key saved" if self.pods.has_key() else "API key (from the provider's website)"
        )

    def _show_gpus(self) -> None:
        self.gpu.blockSignals(True)
        self.gpu.clear()
        for option in self.pods.gpus:
            label = f"${option.price_per_hour:.2f}/h  {option.gpu_name}  {option.vram_gb:.0f} GB  {option.availability}"
            price = offer_volume_price(option)
            if price is not None:  # vast.ai, found for a volume: its machine's price
                label += f"  volume ${price:.2f}/GB·month"
            self.gpu.addItem(label, option)
        self.gpu.blockSignals(False)
        self._gpu_chosen()

    def _create(self) -> None:
        index = self.gpu.currentIndex()
        # The chosen GPU first, then the others (cheapest first) as fallbacks.
        options = list(self.pods.gpus)
        if 0 <= index < len(options):
            options.insert(0, options.pop(index))
        self.states.clear()
        self.pods.create(options)

    def _terminate(self) -> None:
        if self.pods.pod is None:
            return
        answer = QtWidgets.QMessageBox.question(
            self,
            "Terminate pod",
            f"Terminate {self.pods.pod.name}? Its disk is deleted; models you added are lost.",
        )
        if answer == QtWidgets.QMessageBox.StandardButton.Yes:
            self.pods.terminate()

    def ask_on_exit(self) -> None:
        """Krita is closing with a pod running: stop it, terminate it, or keep it running."""
        pod = self.pods.pod
        if pod is None or pod.state.value not in ("running", "starting", "provisioning"):
            return
        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle("A cloud GPU is still running")
        box.setText(f"{pod.name} costs ${pod.price_per_hour:.2f} per hour while it runs.")
        stop = box.addButton("Stop it", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        terminate = box.addButton("Terminate it", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Keep it running", QtWidgets.QMessageBox.ButtonRole.RejectRole)
        clicked = _run_box(box)
        if clicked not in (stop, terminate):
            return
        try:
            self.pods.run_blocking("stop" if clicked is stop else "terminate")
        except Exception as e:  # the painter must know the pod may still cost money
            message = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            QtWidgets.QMessageBox.warning(
                self,
                "The cloud GPU may still be running",
                f"{pod.name} could not be stopped: {message}\nStop it on the provider's "
                "website, or it keeps costing money.",
            )

    def offer_orphans(self, pods: list[Any]) -> None:
        """At start: pods named krita-* still running — connect to one, or stop them."""
        names = ", ".join(f"{p.name} (${p.price_per_hour:.2f}/h)" for p in pods)
        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle("Cloud GPUs still running")
        box.setText(f"These pods from an earlier session still run and cost money: {names}.")
        use = box.addButton("Use the first one", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        stop = box.addButton("Stop them", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Leave them", QtWidgets.QMessageBox.ButtonRole.RejectRole)
        box.setTextFormat(Qt.TextFormat.PlainText)
        clicked = _run_box(box)
        if clicked is use:
            self.pods.adopt(pods[0])
        elif clicked is stop:
            self.pods.stop_pods(pods)


def _run_box(box: Any) -> Any:
    """Show ``box`` modally; the button clicked, or None. Read from the click itself: the box
    may be gone when ``exec`` returns (its window was closed meanwhile)."""
    clicked: list[Any] = []
    box.buttonClicked.connect(clicked.append)
    exec_dialog(box)
    return clicked[0] if clicked else None


class AskBeforeClosing(QObject):
    """Asks about a running pod when the window holding the docker gets its Close event.

    Krita's ``applicationClosing`` comes only after its windows, with this docker, are
    destroyed: too late to ask. Install on the docker's window (``window.installEventFilter``).
    """

    def __init__(self, panel: PodPanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if event.type() == QtCore.QEvent.Type.Close:
            self.panel.ask_on_exit()
        return False
