"""Each panel of the docker as a painter meets it: the connection line and panel, Generate
with its progress and queue, strength in words, the results strip, modes, LoRA rows, the
prompt, and the room the painting loop gets in a small floating docker."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image as PILImage

from ai_diffusion.comfy.events import Finished, Progress
from ai_diffusion.qt import Qt, QtCore, QtWidgets
from ai_diffusion.request import Bounds
from ai_diffusion.secrets import SecretStore
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.widgets.fake_client import CHECKPOINT, FakeConnector
from tests.widgets.fake_document import FakeDocument, FakeDocuments

WAIT = 5000


def png(width: int, height: int, colour=(10, 200, 30, 255)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGBA", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def setup(qtbot, qt_loop, tmp_path: Path):
    documents = FakeDocuments([FakeDocument()])
    connector = FakeConnector()
    secrets = SecretStore(use_system=False)
    widget = create_docker_widget(None, documents, tmp_path, secrets, connector)
    qtbot.addWidget(widget)
    widget.resize(300, 900)
    widget.show()
    return widget, documents, connector, secrets


def connect(qtbot, widget) -> None:
    widget.url.setText("127.0.0.1:8188")
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)


def finish_one(qtbot, widget, connector, prompt: str = "a lighthouse") -> None:
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText(prompt)
    count = len(connector.clients[-1].enqueued) + 1
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: f"job-{count}" in widget.controller.jobs, timeout=WAIT)
    results = widget.history.count()
    connector.clients[-1].push(Finished(f"job-{count}", [png(256, 192)]))
    qtbot.waitUntil(lambda: widget.history.count() == results + 1, timeout=WAIT)


# Connection ---------------------------------------------------------------------------------


def test_a_pasted_login_moves_out_of_the_address_and_never_reaches_the_file(
    qtbot, setup, tmp_path: Path
) -> None:
    widget, _, connector, secrets = setup
    widget.url.setText("  https://painter:s3cret-pass@pod.example:8443/  ")
    assert widget.url.text() == "https://pod.example:8443"
    connection = widget.connection
    assert (connection.auth_kind, connection.username) == ("basic", "painter")
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    config = connector.clients[-1].config
    assert (config.url, config.username, config.password) == (
        "https://pod.example:8443",
        "painter",
        "s3cret-pass",
    )
    text = (tmp_path / "settings.json").read_text()
    assert "s3cret" not in text and json.loads(text)["server_url"] == "https://pod.example:8443"
    assert secrets.get("server_password") == "s3cret-pass"
    assert "s3cret" not in widget.connection_section.line.text()


def test_connected_shows_one_line_that_opens_the_panel(qtbot, setup) -> None:
    widget, *_ = setup
    section = widget.connection_section
    assert section.panel.isVisible() and widget.url.isVisible()  # not connected: the form
    connect(qtbot, widget)
    line = section.line.text()
    assert line.startswith("●") and "Fake GPU" in line and "model" in line
    assert not section.panel.isVisible()  # the painting loop gets the room
    qtbot.mouseClick(section.line, Qt.MouseButton.LeftButton)
    assert section.panel.isVisible() and widget.connect_button.text() == "Disconnect"
    assert not widget.url.isVisible()  # the full form only when not connected
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "disconnected", timeout=WAIT)
    assert widget.url.isVisible() and section.line.text().startswith("○")


def test_the_dialog_writes_into_the_connection_and_the_panel_follows(qtbot, setup) -> None:
    widget, _, connector, _ = setup
    dialog = widget.open_connection_dialog()
    qtbot.addWidget(dialog)
    dialog.url.setText("comfy.example.org/")
    dialog.auth_kind.setCurrentIndex(dialog.auth_kind.findData("token"))
    dialog.token.setText("tok-123456")
    dialog.ok_button.click()
    assert widget.connection.address == "https://comfy.example.org"
    assert widget.url.text() == "https://comfy.example.org" and widget.token.text() == "tok-123456"
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    assert connector.clients[-1].config.token == "tok-123456"


def test_a_ready_pod_names_itself_in_the_line(qtbot, setup) -> None:
    widget, *_ = setup
    widget.pods.ready.emit("https://pod-8188.proxy.runpod.net", "pod-token-5678")
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    assert widget.connection_section.line.text().startswith("● Cloud GPU")
    widget.url.setText("127.0.0.1:8188")  # another server: no longer the pod
    assert widget.connection.pod == ""


# Generate, strength, prompt -------------------------------------------------------------------


def test_progress_is_drawn_in_the_generate_button_and_the_queue_counted(qtbot, setup) -> None:
    widget, _, connector, _ = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    for count in (1, 2):
        qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda c=count: f"job-{c}" in widget.controller.jobs, timeout=WAIT)
    assert widget.queue.isVisible() and widget.queue.text() == "2 queued"
    assert widget.cancel_button.isEnabled()
    connector.clients[-1].push(Progress("job-1", 5, 20))
    qtbot.waitUntil(lambda: widget.generate_button.fraction() == 0.25, timeout=WAIT)
    grab = widget.generate_button.grab().toImage()
    left = grab.pixelColor(8, grab.height() // 2)
    right = grab.pixelColor(grab.width() - 8, grab.height() // 2)
    assert left != right  # the done quarter is drawn, the rest is not
    connector.clients[-1].push(Finished("job-1", [png(256, 192)]))
    qtbot.waitUntil(lambda: not widget.queue.isVisible(), timeout=WAIT)
    connector.clients[-1].push(Finished("job-2", [png(256, 192)]))
    qtbot.waitUntil(lambda: not widget.cancel_button.isEnabled(), timeout=WAIT)


def test_strength_says_what_it_will_do(qtbot, setup) -> None:
    widget, documents, *_ = setup
    assert widget.strength_label.text() == "Generate"
    documents.active().selection = Bounds(10, 10, 40, 40)
    widget.canvas_changed()
    assert widget.strength_label.text() == "Fill selection"
    widget.strength.setValue(60)
    assert widget.strength_label.text() == "Refine 60 %"


def test_ctrl_enter_in_the_prompt_generates_and_enter_adds_a_line(qtbot, setup) -> None:
    widget, _, connector, _ = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a cat")
    widget.prompt.moveCursor(widget.prompt.textCursor().MoveOperation.End)
    qtbot.keyClick(widget.prompt, Qt.Key.Key_Return)
    assert widget.prompt.toPlainText() == "a cat\n" and not connector.clients[-1].enqueued
    qtbot.keyClick(widget.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(connector.clients[-1].enqueued) == 1, timeout=WAIT)
    assert widget.prompt.toPlainText() == "a cat\n"


def test_the_prompt_grows_with_its_text_up_to_a_limit(qtbot, setup) -> None:
    widget, *_ = setup
    short = widget.prompt.height()
    widget.prompt.setPlainText("\n".join(["a line"] * 5))
    qtbot.waitUntil(lambda: widget.prompt.height() > short, timeout=WAIT)
    five = widget.prompt.height()
    widget.prompt.setPlainText("\n".join(["a line"] * 40))
    qtbot.waitUntil(lambda: widget.prompt.height() > five, timeout=WAIT)
    assert widget.prompt.height() < 12 * widget.prompt.fontMetrics().lineSpacing()


# Results strip --------------------------------------------------------------------------------


def test_hover_previews_on_the_canvas_click_keeps_double_click_applies(qtbot, setup) -> None:
    widget, documents, connector, _ = setup
    connect(qtbot, widget)
    finish_one(qtbot, widget, connector)
    document = documents.active()
    assert not document.preview_visible
    item = widget.history.item(0)
    centre = widget.history.visualItemRect(item).center()
    qtbot.mouseMove(widget.history.viewport(), centre)
    widget.history.itemEntered.emit(item)  # offscreen Qt sends no hover on its own
    assert document.preview_visible and document.previews[-1] == Bounds(0, 0, 256, 192)
    widget.history.left.emit()  # the pointer leaves the strip, nothing selected
    assert not document.preview_visible
    qtbot.mouseClick(widget.history.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert document.preview_visible and widget.history.currentRow() == 0
    widget.history.left.emit()
    assert document.preview_visible  # the selected result stays shown
    qtbot.mouseDClick(widget.history.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    seed = item.data(Qt.ItemDataRole.UserRole).seed
    assert [name for name, *_ in document.layers_added] == [f"[AI] a lighthouse ({seed})"]


def test_context_menu_apply_discard_copy_prompt_reuse_seed(qtbot, setup) -> None:
    widget, documents, connector, _ = setup
    connect(qtbot, widget)
    finish_one(qtbot, widget, connector, "a red hat")
    finish_one(qtbot, widget, connector, "a blue hat")
    item = widget.history.item(0)
    result = item.data(Qt.ItemDataRole.UserRole)
    menu = widget.results.menu_for(item)
    actions = {a.text(): a for a in menu.actions()}
    assert list(actions) == ["Apply", "Discard", "Copy prompt", "Reuse seed"]
    actions["Copy prompt"].trigger()
    assert QtWidgets.QApplication.clipboard().text() == "a red hat"
    actions["Reuse seed"].trigger()
    assert not widget.seed_random.isChecked() and widget.seed.value() == result.seed
    actions["Apply"].trigger()
    assert documents.active().layers_added[-1][0] == result.name
    actions["Discard"].trigger()
    assert widget.history.count() == 1
    assert widget.history.item(0).data(Qt.ItemDataRole.UserRole).prompt == "a blue hat"


# Modes, lists -------------------------------------------------------------------------------


def test_modes_show_only_their_own_controls(qtbot, setup) -> None:
    widget, *_ = setup
    modes = widget.modes
    assert modes.mode == "generate" and modes.page("generate").isAncestorOf(widget.lora_box)
    assert widget.lists.isVisible() and widget.advanced.isVisible()
    assert modes.page("live") is widget.live_panel and modes.buttons["live"].isEnabled()
    assert modes.page("upscale") is widget.upscale_page and modes.buttons["upscale"].isEnabled()
    modes.set_page("upscale", None)  # a mode without controls is disabled and says why
    assert not modes.buttons["upscale"].isEnabled()
    page = QtWidgets.QLabel("upscale controls")
    modes.set_page("upscale", page)
    qtbot.mouseClick(modes.buttons["upscale"], Qt.MouseButton.LeftButton)
    assert modes.mode == "upscale" and page.isVisible()
    assert not modes.page("generate").isVisible()


def test_lora_rows_come_from_a_searchable_picker(qtbot, setup) -> None:
    widget, _, connector, _ = setup
    connect(qtbot, widget)
    loras = widget.lora_box
    names = [f"style-{i:03d}.safetensors" for i in range(300)] + ["detail-tweaker.safetensors"]
    from ai_diffusion.ui.model_lists import set_choices

    set_choices(loras.pick, names)
    completer = loras.pick.completer()
    completer.setCompletionPrefix("tweak")
    assert completer.completionCount() == 1 and completer.currentCompletion() == names[-1]
    loras.pick.setCurrentText("detail-tweaker.safetensors")
    qtbot.mouseClick(loras.add, Qt.MouseButton.LeftButton)
    loras.pick.setCurrentText("no-such-lora")  # typed, not chosen: nothing is added
    qtbot.mouseClick(loras.add, Qt.MouseButton.LeftButton)
    assert loras.list.count() == 1
    row = loras.list.rows[0]
    row.strength.setValue(0.4)
    assert [(x.name, x.strength) for x in loras.loras()] == [(names[-1], pytest.approx(0.4))]
    qtbot.mouseClick(row.remove, Qt.MouseButton.LeftButton)
    assert loras.loras() == []


# Room -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("connected", [True, False])
def test_the_painting_loop_fits_a_floating_300_by_600_docker(qtbot, setup, connected) -> None:
    widget, _, connector, _ = setup
    if connected:
        connect(qtbot, widget)
        finish_one(qtbot, widget, connector)
    scroll = QtWidgets.QScrollArea()  # as the plugin wraps the content in the dock
    qtbot.addWidget(scroll)
    scroll.setWidgetResizable(True)
    scroll.setWidget(widget)
    scroll.resize(300, 600)
    scroll.show()
    qtbot.waitExposed(scroll)
    qtbot.waitUntil(lambda: widget.width() == scroll.viewport().width(), timeout=WAIT)
    assert not scroll.horizontalScrollBar().isVisible()
    viewport = scroll.viewport().rect()
    for part in (widget.prompt, widget.generate_button, widget.history):
        top_left = part.mapTo(scroll.viewport(), QtCore.QPoint(0, 0))
        rect = QtCore.QRect(top_left, part.size())
        assert part.isVisible() and viewport.contains(rect), (part.objectName(), rect, viewport)
    scroll.takeWidget()  # the fixture's widget is closed by qtbot, not by the scroll area


def test_every_section_open_still_fits_300_px_with_a_scroll_bar(qtbot, setup) -> None:
    widget, *_ = setup
    widget.lists.set_open(True)
    widget.advanced.set_open(True)
    widget.cloud_toggle.setChecked(True)
    bar = widget.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
    assert widget.minimumSizeHint().width() <= 300 - bar
