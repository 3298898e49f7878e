"""A secret given in the docker never lands in a file or on screen: after a full connect,
generate, error and disconnect cycle with each kind of login, the settings file, its backup
and the log file are searched byte by byte."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ai_diffusion.logs import setup_file_logging
from ai_diffusion.qt import Qt
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state.observable import bind
from ai_diffusion.ui.docker_widget import DockerWidget, create_docker_widget
from tests.comfy_fixtures import CHECKPOINT, fake_process
from tests.widgets.fake_document import FakeDocument, FakeDocuments

WAIT = 20000
TOKEN = "tok-9f8e7d6c5b4a"
USER, PASSWORD = "painter", "pw-5ecret-7355"


def _docker_token(widget: DockerWidget, qtbot, url: str) -> None:
    widget.url.setText(url)
    widget.token.setText(TOKEN)


def _dialog(kind: str) -> Callable[[DockerWidget, object, str], None]:
    def login(widget: DockerWidget, qtbot, url: str) -> None:
        dialog = widget.open_connection_dialog()
        qtbot.addWidget(dialog)
        dialog.url.setText(url)
        dialog.auth_kind.setCurrentIndex(dialog.auth_kind.findData(kind))
        if kind == "token":
            dialog.token.setText(TOKEN)
        else:
            dialog.username.setText(USER)
            dialog.password.setText(PASSWORD)
        dialog.ok_button.click()

    return login


def _pasted(widget: DockerWidget, qtbot, url: str) -> None:
    widget.url.setText(url.replace("http://", f"http://{USER}:{PASSWORD}@"))


LOGINS = {
    "token typed in the docker": (("--token", TOKEN), TOKEN, _docker_token),
    "token in the settings dialog": (("--token", TOKEN), TOKEN, _dialog("token")),
    "user and password in the dialog": (("--basic", f"{USER}:{PASSWORD}"), PASSWORD, _dialog("basic")),
    "password pasted in the address": (("--basic", f"{USER}:{PASSWORD}"), PASSWORD, _pasted),
}  # fmt: skip


@pytest.fixture
def log_folder(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "logs"
    setup_file_logging(folder, level=logging.DEBUG)
    yield folder
    logger = logging.getLogger("ai_diffusion")
    for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
        logger.removeHandler(handler)
        handler.close()


@pytest.mark.parametrize("login", list(LOGINS))
def test_no_secret_in_any_file_after_a_whole_session(
    qtbot, qt_loop, tmp_path: Path, log_folder: Path, login: str
) -> None:
    options, secret, enter = LOGINS[login]
    (tmp_path / "settings.json").write_text("{broken")  # so that a backup is written too
    documents = FakeDocuments([FakeDocument()])
    widget = create_docker_widget(None, documents, tmp_path, SecretStore(use_system=False))
    qtbot.addWidget(widget)
    widget.show()
    shown: list[str] = []
    for field in ("connection_message", "message", "test_result"):
        bind(widget.controller, field, shown.append)
    with fake_process(*options) as url:
        enter(widget, qtbot, url)
        qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
        # A job the server refuses (an error message), then one that works.
        widget.model_picker.steps.setValue(2)
        widget.checkpoint.addItem("no-such-model.safetensors")
        widget.checkpoint.setCurrentText("no-such-model.safetensors")
        qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "no-such-model" in widget.message.text(), timeout=WAIT)
        widget.checkpoint.setCurrentText(CHECKPOINT)
        qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: widget.history.count() == 1, timeout=WAIT)
        qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: widget.controller.state == "disconnected", timeout=WAIT)
    widget.save_settings()
    assert widget.controller.client is None
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"settings.json", "settings.json.bak", "ai_diffusion.log"} <= names
    log_text = (log_folder / "ai_diffusion.log").read_text()
    assert "connected to" in log_text  # the log was written during the session
    forms = [secret.encode(), base64.b64encode(f"{USER}:{PASSWORD}".encode())]
    for path in files:
        data = path.read_bytes()
        for form in forms:
            assert form not in data, f"{form!r} in {path.name}"
    assert shown and not [text for text in shown if secret in text]
