"""The docker driven like a painter would, with a fake client whose events the test pushes."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image as PILImage

from ai_diffusion.comfy.events import Finished, Preview, Progress, Queued
from ai_diffusion.errors import UserError
from ai_diffusion.qt import Qt
from ai_diffusion.request import Bounds, Mode
from ai_diffusion.secrets import SecretStore
from ai_diffusion.ui.docker_widget import create_docker_widget
from ai_diffusion.workflow import inpaint_region
from tests.widgets.fake_client import CHECKPOINT, FakeConnector
from tests.widgets.fake_document import FakeDocument, FakeDocuments

WAIT = 5000  # ms, every wait is bounded


def png(width: int, height: int, colour=(10, 200, 30, 255)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGBA", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def setup(qtbot, qt_loop, tmp_path: Path):
    documents = FakeDocuments([FakeDocument(), FakeDocument(width=128, height=128)])
    connector = FakeConnector()
    widget = create_docker_widget(
        None, documents, tmp_path, SecretStore(use_system=False), connector
    )
    qtbot.addWidget(widget)
    widget.resize(300, 900)  # the docker must stay usable at ~300 px
    widget.show()
    requests: list = []
    build = widget.controller.build_request

    def recording(document, params):
        request, bounds = build(document, params)
        requests.append(request)
        return request, bounds

    widget.controller.build_request = recording
    return widget, documents, connector, requests


def connect(qtbot, widget) -> None:
    widget.url.setText("127.0.0.1:8188")
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)


def generate(qtbot, widget, connector, count: int) -> str:
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(connector.clients[-1].enqueued) == count, timeout=WAIT)
    qtbot.waitUntil(lambda: f"job-{count}" in widget.controller.jobs, timeout=WAIT)
    return f"job-{count}"


def test_connect_shows_device_and_models(qtbot, setup) -> None:
    widget, _, connector, _ = setup
    connect(qtbot, widget)
    assert "Fake GPU" in widget.device.text() and "24.0 GB" in widget.device.text()
    assert widget.connect_button.text() == "Disconnect"
    assert widget.checkpoint.findText(CHECKPOINT) >= 0
    qtbot.mouseClick(widget.refresh, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.checkpoint.findText("new-model.safetensors") >= 0, timeout=WAIT)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "disconnected", timeout=WAIT)
    assert connector.clients[0].closed and widget.device.text() == ""


def test_connection_errors_show_their_message(qtbot, setup) -> None:
    widget, _, connector, _ = setup
    connector.fail = UserError("The server refused the token. Copy it again from your pod page.")
    widget.url.setText("https://pod.example")
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "error", timeout=WAIT)
    assert widget.status.text() == connector.fail.message
    # A bug (not a UserError) still becomes words in the panel, not a traceback dialog.
    connector.fail = KeyError("devices")
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Something went wrong" in widget.status.text(), timeout=WAIT)
    assert widget.controller.state == "error"


def test_txt2img_progress_preview_results_and_apply(qtbot, setup) -> None:
    widget, documents, connector, requests = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a lighthouse at dusk")
    widget.seed_random.setChecked(False)
    widget.seed.setValue(42)
    widget.batch.setValue(2)
    job = generate(qtbot, widget, connector, 1)
    request = requests[-1]
    assert request.mode is Mode.txt2img and request.sampling.seed == 42
    assert request.sampling.batch_size == 2 and (request.extent.width, request.extent.height) == (
        256,
        192,
    )
    assert widget.cancel_button.isEnabled()
    client = connector.clients[-1]
    client.push(Queued(job, 2))
    qtbot.waitUntil(lambda: "2 job(s) ahead" in widget.message.text(), timeout=WAIT)
    client.push(Progress(job, 3, 10))
    qtbot.waitUntil(lambda: widget.progress.value() == 3, timeout=WAIT)
    assert widget.progress.maximum() == 10 and widget.message.text() == "Step 3 of 10"
    client.push(Preview(job, png(256, 192), "png"))
    document = documents.active()
    qtbot.waitUntil(lambda: document.preview_visible, timeout=WAIT)
    assert widget.preview.pixmap() is not None and not widget.preview.pixmap().isNull()
    client.push(Finished(job, [png(256, 192), png(256, 192, (1, 2, 3, 255))]))
    qtbot.waitUntil(lambda: widget.history.count() == 2, timeout=WAIT)
    assert not widget.cancel_button.isEnabled() and not document.preview_visible
    assert widget.history.item(1).toolTip() == "[AI] a lighthouse at dusk (43)"
    widget.history.setCurrentRow(1)
    qtbot.mouseClick(widget.apply_button, Qt.MouseButton.LeftButton)
    name, bounds, image = document.layers_added[0]
    assert name == "[AI] a lighthouse at dusk (43)"
    assert bounds == Bounds(0, 0, 256, 192) and image.width == 256
    widget.history.setCurrentRow(0)
    qtbot.mouseClick(widget.discard_button, Qt.MouseButton.LeftButton)
    assert widget.history.count() == 1


def test_inpaint_crop_and_refine_strength(qtbot, setup) -> None:
    widget, documents, connector, requests = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a hat")
    document = documents.active()
    document.selection = Bounds(100, 60, 40, 30)
    generate(qtbot, widget, connector, 1)
    inpaint = requests[-1]
    assert inpaint.mode is Mode.inpaint and inpaint.strength == 1.0
    assert inpaint.region == inpaint_region(document.extent(), document.selection)
    assert widget.controller.jobs["job-1"].bounds == inpaint.region
    document.selection = None
    widget.strength.setValue(40)
    assert widget.strength_label.text() == "Refine 40 %"
    generate(qtbot, widget, connector, 2)
    refine = requests[-1]
    assert refine.mode is Mode.img2img and refine.strength == pytest.approx(0.4)


def test_jobs_keep_running_across_document_switches(qtbot, setup) -> None:
    widget, documents, connector, _ = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("first")
    first = documents.active()
    job = generate(qtbot, widget, connector, 1)
    documents.current = 1
    widget.canvas_changed()
    connector.clients[-1].push(Finished(job, [png(256, 192)]))
    qtbot.waitUntil(lambda: not widget.controller.jobs, timeout=WAIT)
    assert widget.history.count() == 0  # the other document shows its own (empty) history
    documents.current = 0
    widget.canvas_changed()
    assert widget.history.count() == 1
    widget.apply_result()
    assert first.layers_added and not documents.documents[1].layers_added


def test_cancel_cancels_only_this_plugins_jobs(qtbot, setup) -> None:
    widget, _, connector, _ = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    job = generate(qtbot, widget, connector, 1)
    client = connector.clients[-1]
    client.push(Progress("someone-elses-job", 1, 5))  # ignored: not ours
    qtbot.mouseClick(widget.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: client.cancelled == [job], timeout=WAIT)
    assert widget.progress.value() == 0


def test_settings_dialog_tests_and_keeps_secrets_out_of_the_file(
    qtbot, setup, tmp_path: Path
) -> None:
    widget, _, connector, _ = setup
    widget.url.setText("https://pod.example")
    dialog = widget.open_connection_dialog()
    qtbot.addWidget(dialog)
    dialog.auth_kind.setCurrentIndex(dialog.auth_kind.findData("basic"))
    assert dialog.password.isEnabled() and not dialog.token.isEnabled()
    dialog.username.setText("painter")
    dialog.password.setText("hunter2-password")
    connector.fail = UserError("Wrong user name or password. Check them in the pod's settings.")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text() == connector.fail.message, timeout=WAIT)
    connector.fail = None
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("Works"), timeout=WAIT)
    assert connector.clients[-1].config.password == "hunter2-password"
    assert connector.clients[-1].closed  # a test does not keep a connection open
    assert widget.controller.state == "disconnected"
    # The secret store has no system backend here: the dialog says so.
    assert "only kept until Krita closes" in dialog.secret_status.text()
    dialog.ok_button.click()
    text = (tmp_path / "settings.json").read_text()
    assert '"auth_kind": "basic"' in text and '"painter"' in text
    assert "hunter2-password" not in text
    widget.url.setText("https://pod.example")
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    assert connector.clients[-1].config.username == "painter"


def test_a_password_pasted_in_the_address_becomes_the_login(qtbot, setup, tmp_path: Path) -> None:
    widget, _, connector, _ = setup
    widget.url.setText(" https://painter:s3cret%2Fpass@pod.example:8188/ ")
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    config = connector.clients[-1].config
    assert (config.username, config.password) == ("painter", "s3cret/pass")
    assert widget.url.text() == "https://pod.example:8188"  # shown without the password
    saved = (tmp_path / "settings.json").read_bytes()
    assert b"s3cret" not in saved and b"pod.example:8188" in saved
    assert b'"auth_kind": "basic"' in saved and b'"painter"' in saved
    assert widget.secrets.get("server_password") == "s3cret/pass"  # the password store
    assert "s3cret" not in widget.status.text() + widget.message.text()
    # The login is kept: the next connect (and the dialog) use it.
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "disconnected", timeout=WAIT)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(connector.clients) == 2, timeout=WAIT)
    assert connector.clients[-1].config.password == "s3cret/pass"
    dialog = widget.open_connection_dialog()
    qtbot.addWidget(dialog)
    assert dialog.auth_kind.currentData() == "basic" and dialog.password.text() == "s3cret/pass"
    assert "s3cret" not in dialog.url.text()


def test_a_password_in_the_dialogs_address_becomes_the_login_too(
    qtbot, setup, tmp_path: Path
) -> None:
    widget, *_ = setup
    dialog = widget.open_connection_dialog()
    qtbot.addWidget(dialog)
    dialog.url.setText("http://me:hunter2-pw@192.168.1.9:8188")
    dialog.ok_button.click()
    assert widget.url.text() == "http://192.168.1.9:8188"
    assert b"hunter2-pw" not in (tmp_path / "settings.json").read_bytes()
    assert widget.secrets.get("server_password") == "hunter2-pw"


def test_cloud_section_is_collapsible(qtbot, setup) -> None:
    widget, *_ = setup
    assert not widget.cloud_section.isVisible()
    qtbot.mouseClick(widget.cloud_toggle, Qt.MouseButton.LeftButton)
    assert widget.cloud_section.isVisible()


def test_docker_fits_a_300_px_wide_dock(qtbot, setup) -> None:
    widget, *_ = setup
    assert widget.minimumSizeHint().width() <= 300
    assert widget.generate_button.isVisible() and widget.generate_button.width() > 100


def test_a_ready_cloud_pod_connects_the_docker_with_its_token(qtbot, setup, tmp_path) -> None:
    widget, _, connector, _ = setup
    assert widget.pod_panel.parent() is widget.cloud_section
    widget.pods.ready.emit("https://pod-8188.proxy.runpod.net", "pod-token-5678")
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    config = connector.clients[-1].config
    assert (config.url, config.token) == ("https://pod-8188.proxy.runpod.net", "pod-token-5678")
    assert "pod-token-5678" not in (tmp_path / "settings.json").read_text()


def test_document_errors_become_messages_and_jobs_go_on(qtbot, setup) -> None:
    widget, documents, connector, _ = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    document = documents.active()
    job = generate(qtbot, widget, connector, 1)

    def broken_preview(image, bounds):
        raise UserError("A result image from the server could not be read.")

    def broken_apply(image, bounds, name):
        raise UserError("This image uses CMYK colours; convert it to RGB to apply results.")

    document.show_preview = broken_preview
    client = connector.clients[-1]
    client.push(Preview(job, b"not an image"))
    qtbot.waitUntil(lambda: "could not be read" in widget.message.text(), timeout=WAIT)
    client.push(Finished(job, [png(256, 192)]))  # the listener survived the bad preview
    qtbot.waitUntil(lambda: widget.history.count() == 1, timeout=WAIT)
    document.apply_result = broken_apply
    qtbot.mouseClick(widget.apply_button, Qt.MouseButton.LeftButton)
    assert widget.message.text().startswith("This image uses CMYK")
    assert widget.history.count() == 1  # nothing the painter made is lost


def test_loras_and_controlnet_layers_reach_the_request(qtbot, setup) -> None:
    widget, documents, connector, requests = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    loras, controls = widget.lora_box, widget.control_box
    loras.pick.setCurrentText("random-sd15-lora.safetensors")
    loras.strength.setValue(0.6)
    qtbot.mouseClick(loras.add, Qt.MouseButton.LeftButton)
    controls.model.setCurrentText("random-sd15-controlnet.safetensors")
    assert controls.layer.currentText() == "Sketch"
    controls.strength.setValue(0.8)
    controls.end.setValue(0.5)
    qtbot.mouseClick(controls.add, Qt.MouseButton.LeftButton)
    assert controls.list.count() == 1
    generate(qtbot, widget, connector, 1)
    request = requests[-1]
    assert [(lora.name, lora.strength) for lora in request.loras] == [
        ("random-sd15-lora.safetensors", pytest.approx(0.6))
    ]
    (control,) = request.controls
    assert control.model == "random-sd15-controlnet.safetensors"
    assert (control.strength, control.start, control.end) == (0.8, 0.0, 0.5)
    assert (control.image.width, control.image.height) == (256, 192)
    # The row's own strength is what the next request carries; the layer is read again.
    controls.list.rows[0].strength.setValue(0.3)
    generate(qtbot, widget, connector, 2)
    (control,) = requests[-1].controls
    assert (control.strength, control.start, control.end) == (0.3, 0.0, 0.5)
    assert control.image == documents.active().read_layer("layer-1", Bounds(0, 0, 256, 192))


def test_events_that_arrive_before_enqueue_returns_are_not_lost(qtbot, setup) -> None:
    """The server may report a job (queue position, start) before the answer to POST /prompt
    has given the controller its id."""
    widget, documents, connector, requests = setup
    connect(qtbot, widget)
    client = connector.clients[-1]
    original = client.enqueue

    async def early_enqueue(workflow):
        job = await original(workflow)
        client.push(Queued(job, 3))
        await asyncio.sleep(0.05)  # the listener handles the event before we return
        return job

    client.enqueue = early_enqueue
    widget.checkpoint.setCurrentText(CHECKPOINT)
    generate(qtbot, widget, connector, 1)
    qtbot.waitUntil(lambda: "3 job(s) ahead" in widget.message.text(), timeout=WAIT)


def test_a_job_that_cannot_be_stopped_stops_no_other_cancel_and_says_why(qtbot, setup) -> None:
    # A WebUI cannot tell whose job runs: its client refuses to interrupt and says so.
    widget, _, connector, _ = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    first = generate(qtbot, widget, connector, 1)
    second = generate(qtbot, widget, connector, 2)
    client = connector.clients[-1]
    plain_cancel = client.cancel

    async def cancel(job_id: str) -> None:
        await plain_cancel(job_id)
        if job_id == first:
            raise UserError("It was not stopped: it may be somebody else's.")

    client.cancel = cancel
    qtbot.mouseClick(widget.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: client.cancelled == [first, second], timeout=WAIT)
    qtbot.waitUntil(lambda: "not stopped" in widget.message.text(), timeout=WAIT)


def test_a_new_session_shows_what_the_last_one_saved(qtbot, qt_loop, tmp_path: Path) -> None:
    secrets = SecretStore(use_system=False)  # stands in for the system's password store
    first = create_docker_widget(None, FakeDocuments([FakeDocument()]), tmp_path, secrets)
    qtbot.addWidget(first)
    first.url.setText("https://pod.example")
    first.verify_tls.setChecked(False)
    first.negative.setPlainText("blurry")
    first.batch.setValue(3)
    first.token.setText("tok-NEXTSESSION08")
    first.connection.auth_kind = "basic"
    first.connection.username = "painter"
    first.connection.password = "pw-NEXTSESSION09"
    first.save_settings()
    again = create_docker_widget(None, FakeDocuments([FakeDocument()]), tmp_path, secrets)
    qtbot.addWidget(again)
    assert again.url.text() == "https://pod.example"
    assert not again.verify_tls.isChecked()
    assert again.negative.toPlainText() == "blurry" and again.batch.value() == 3
    assert again.token.text() == "tok-NEXTSESSION08"
    fields = again.connection.snapshot()
    assert (fields.username, fields.password) == ("painter", "pw-NEXTSESSION09")


def test_an_old_settings_file_with_a_password_in_the_address_is_cleaned(
    qtbot, qt_loop, tmp_path: Path
) -> None:
    import json

    (tmp_path / "settings.json").write_text(
        json.dumps({"server_url": "https://painter:pw-OLDFILE10@pod.example"})
    )
    secrets = SecretStore(use_system=False)
    widget = create_docker_widget(None, FakeDocuments([FakeDocument()]), tmp_path, secrets)
    qtbot.addWidget(widget)
    assert widget.url.text() == "https://pod.example"
    assert widget.verify_tls.isChecked()  # the default, from the file's missing key
    assert widget.connection.snapshot().password == "pw-OLDFILE10"
    widget.save_settings()
    assert b"pw-OLDFILE10" not in (tmp_path / "settings.json").read_bytes()
    assert secrets.get("server_password") == "pw-OLDFILE10"


@pytest.mark.parametrize(
    ("pasted", "user", "password"),
    [("https://:pw-ONLY11@pod.example", "", "pw-ONLY11"), ("https://me@pod.example", "me", "")],
)
def test_a_password_or_a_user_alone_in_the_address_becomes_the_login(
    qtbot, setup, tmp_path: Path, pasted: str, user: str, password: str
) -> None:
    widget, _, connector, _ = setup
    widget.url.setText(pasted)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    assert widget.url.text() == "https://pod.example"
    fields = widget.connection.snapshot()
    assert (fields.auth_kind, fields.username, fields.password) == ("basic", user, password)
