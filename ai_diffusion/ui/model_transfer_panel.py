"""The docker's "Add models" section (inside the connection panel, closed by default): a
download link and the folder it goes into (preselected from the link's name), Download, Upload
a file…, the Civitai key (masked; Save keeps it in the password store), the transfers with
their progress and Cancel, and, for a server without the pod gateway, how to add a model by
hand. Everything is read from and written into
:class:`~ai_diffusion.state.model_transfers.ModelTransfers`.

Object names: ai_models_panel, ai_models_state, ai_models_url, ai_models_folder,
ai_models_download, ai_models_upload, ai_models_civitai, ai_models_civitai_save,
ai_models_list, ai_models_row (one per transfer, with ai_models_row_text, ai_models_progress,
ai_models_cancel), ai_models_by_hand, ai_models_message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..qt import Qt, QtWidgets
from ..state.model_transfers import FOLDERS, ModelTransfers, TransferRow
from ..state.observable import bind
from .names import named

FILE_FILTER = "Model files (*.safetensors *.ckpt *.pt *.pth *.bin *.gguf *.sft);;All files (*)"
STATES = {
    "": "Connect to a server first: then you can add models to it here.",
    "checking": "Asking the server whether it can receive models…",
    "yes": "Paste a download link, or upload a file from this computer.",
    "salad": "Paste a download link: one replica of your Salad group downloads it (no progress "
    "until it ends; at most 100 s). A Salad group takes no file from this computer.",
    "no": "",
}


class TransferRowWidget(QtWidgets.QWidget):
    """name (folder): what happens · progress · Cancel"""

    def __init__(self, key: str, cancel: Callable[[str], None], parent: Any = None) -> None:
        super().__init__(parent)
        named(self, "ai_models_row")
        self.key = key
        self.text = named(QtWidgets.QLabel(self), "ai_models_row_text")
        self.text.setWordWrap(True)
        self.progress = named(QtWidgets.QProgressBar(self), "ai_models_progress")
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(self.fontMetrics().height() // 2 + 4)
        self.cancel = named(QtWidgets.QPushButton("Cancel", self), "ai_models_cancel")
        self.cancel.setMinimumWidth(self.cancel.fontMetrics().horizontalAdvance("Cancel") + 16)
        self.cancel.clicked.connect(lambda: cancel(self.key))
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(1)
        col.addWidget(self.text)
        col.addLayout(bar)

    def show_row(self, row: TransferRow) -> None:
        self.text.setText(row.line())
        self.progress.setValue(row.percent)
        self.progress.setVisible(not row.ended)
        self.cancel.setVisible(not row.ended)


class ModelTransferPanel(QtWidgets.QWidget):
    def __init__(self, transfers: ModelTransfers, parent: Any = None) -> None:
        super().__init__(parent)
        named(self, "ai_models_panel")
        self.transfers = transfers
        self.state = named(QtWidgets.QLabel(self), "ai_models_state")
        self.state.setWordWrap(True)
        self.folder = named(QtWidgets.QComboBox(self), "ai_models_folder")
        for folder, label in FOLDERS.items():
            self.folder.addItem(label, folder)
        self.folder.setToolTip("The model folder on the server the file goes into")
        self.url = named(QtWidgets.QLineEdit(self), "ai_models_url")
        self.url.setPlaceholderText("download link (Hugging Face, Civitai, …)")
        self.url.setClearButtonEnabled(True)
        self.download = named(QtWidgets.QPushButton("Download", self), "ai_models_download")
        self.download.setToolTip("The server downloads the file itself, into the folder chosen")
        self.upload = named(QtWidgets.QPushButton("Upload a file…", self), "ai_models_upload")
        self.upload.setToolTip("Send a model file from this computer into the folder chosen")
        self.civitai = named(QtWidgets.QLineEdit(self), "ai_models_civitai")
        self.civitai.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.civitai.setToolTip(
            "Some Civitai models need your API key (civitai.com → Account settings → API Keys). "
            "Used as soon as you type it, until Krita closes; Save keeps it in your system's "
            "password store."
        )
        self.civitai_save = named(QtWidgets.QPushButton("Save", self), "ai_models_civitai_save")
        self.civitai_save.setToolTip("Keep the Civitai key in your system's password store")
        self.civitai_save.setMinimumWidth(
            self.civitai_save.fontMetrics().horizontalAdvance("Save") + 16
        )
        self.list = named(QtWidgets.QWidget(self), "ai_models_list")
        self.rows_layout = QtWidgets.QVBoxLayout(self.list)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(2)
        self.rows: dict[str, TransferRowWidget] = {}
        self.by_hand = named(QtWidgets.QLabel(self), "ai_models_by_hand")
        self.by_hand.setWordWrap(True)
        self.by_hand.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = named(QtWidgets.QLabel(self), "ai_models_message")
        self.message.setWordWrap(True)

        self.gateway_part = QtWidgets.QWidget(self)
        form = QtWidgets.QVBoxLayout(self.gateway_part)
        form.setContentsMargins(0, 0, 0, 0)
        form.setSpacing(2)
        link_row = QtWidgets.QHBoxLayout()
        link_row.addWidget(self.url, 1)
        link_row.addWidget(self.download)
        form.addLayout(link_row)
        form.addWidget(self.upload)
        self.civitai_row = QtWidgets.QWidget(self.gateway_part)
        key_row = QtWidgets.QHBoxLayout(self.civitai_row)
        key_row.setContentsMargins(0, 0, 0, 0)
        key_row.addWidget(QtWidgets.QLabel("Civitai key", self.civitai_row))
        key_row.addWidget(self.civitai, 1)
        key_row.addWidget(self.civitai_save)
        form.addWidget(self.civitai_row)
        folder_row = QtWidgets.QHBoxLayout()
        folder_row.addWidget(QtWidgets.QLabel("Folder", self))
        folder_row.addWidget(self.folder, 1)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(3)
        col.addWidget(self.state)
        col.addLayout(folder_row)
        col.addWidget(self.gateway_part)
        col.addWidget(self.by_hand)
        col.addWidget(self.list)
        col.addWidget(self.message)
        self.ask_file: Callable[[], str] = self._ask_file  # tests answer the file dialog
        self._wire()

    def _wire(self) -> None:
        t = self.transfers
        self.url.textChanged.connect(self._link_typed)
        self.url.returnPressed.connect(self.start_download)
        self.download.clicked.connect(self.start_download)
        self.upload.clicked.connect(self.start_upload)
        self.folder.currentIndexChanged.connect(lambda _: t.set_folder(self.folder.currentData()))
        self.civitai.textChanged.connect(t.use_civitai_token)
        self.civitai_save.clicked.connect(self._save_civitai)
        bind(t, "folder", self._show_folder)
        bind(t, "gateway", self._on_gateway)
        bind(t, "transfers", self._show_rows)
        bind(t, "message", self.message.setText)
        bind(t, "by_hand", self.by_hand.setText)
        self._show_civitai()

    # Painter → state ---------------------------------------------------------------------

    def _link_typed(self, text: str) -> None:
        folder = self.transfers.suggested_folder(text.strip()) if text.strip() else None
        if folder:
            self.transfers.set_folder(folder)

    def start_download(self) -> None:
        if self.transfers.download(self.url.text(), self.folder.currentData()):
            self.url.clear()

    def start_upload(self) -> None:
        if self.transfers.gateway == "salad":  # says why, before a file is chosen
            self.transfers.upload("")
            return
        path = self.ask_file()
        if path:
            self.transfers.upload(path, self.folder.currentData())

    def _ask_file(self) -> str:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Upload a model file", "", FILE_FILTER
        )
        return str(path or "")

    def _save_civitai(self) -> None:
        self.transfers.save_civitai_token(self.civitai.text())
        self._show_civitai()

    # State → widgets -----------------------------------------------------------------------

    def _show_civitai(self) -> None:
        """The field shows the key typed this session (masked); a saved key is only named in
        the placeholder."""
        t = self.transfers
        if self.civitai.text() != t.typed_civitai_token():
            self.civitai.setText(t.typed_civitai_token())
        self.civitai.setPlaceholderText(
            "saved" if t.has_saved_civitai_token() else "if a model needs it"
        )

    def _show_folder(self, folder: str) -> None:
        index = self.folder.findData(folder)
        if index >= 0 and index != self.folder.currentIndex():
            self.folder.setCurrentIndex(index)

    def _on_gateway(self, gateway: str) -> None:
        self.state.setText(STATES.get(gateway, ""))
        self.state.setVisible(bool(STATES.get(gateway)))
        self.gateway_part.setVisible(gateway in ("yes", "salad"))
        self.civitai_row.setVisible(gateway == "yes")  # Salad's download takes a link only
        self.by_hand.setVisible(gateway == "no")

    def _show_rows(self, rows: tuple[TransferRow, ...]) -> None:
        keys = {row.key for row in rows}
        for key in [k for k in self.rows if k not in keys]:
            widget = self.rows.pop(key)
            self.rows_layout.removeWidget(widget)
            widget.deleteLater()
        for row in rows:
            if row.key not in self.rows:
                self.rows[row.key] = TransferRowWidget(row.key, self.transfers.cancel, self.list)
                self.rows_layout.addWidget(self.rows[row.key])
            self.rows[row.key].show_row(row)
        self.list.setVisible(bool(rows))
