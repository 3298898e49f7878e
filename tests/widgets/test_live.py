"""Live painting's scheduler: debounce, latest wins, own jobs only, keep, leaving, pausing.

Driven with a client double whose events the test pushes; the quiet time is made long and
ended by the test (``quiet_time_over`` is what the timer calls), so nothing depends on timing.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from ai_diffusion.comfy import ServerConfig
from ai_diffusion.comfy.events import ConnectionState, Finished, Interrupted, Started
from ai_diffusion.request import Bounds, Mode
from ai_diffusion.state.controller import Controller
from ai_diffusion.state.live import PAUSED, LiveMode, LiveParams
from ai_diffusion.workflow import inpaint_region
from tests.widgets.fake_client import CHECKPOINT, FakeConnector
from tests.widgets.fake_document import FakeDocument, FakeDocuments

WAIT = 5000
PARAMS = LiveParams(CHECKPOINT, "a red barn", strength=0.5, seed=7)


def png(width: int, height: int, colour=(10, 200, 30, 255)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGBA", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def pixel(request, x: int, y: int) -> tuple[int, ...]:
    array = np.asarray(PILImage.open(io.BytesIO(request.image.data)).convert("RGBA"))
    return tuple(int(v) for v in array[y, x])


@pytest.fixture
def setup(qtbot, qt_loop):
    documents = FakeDocuments([FakeDocument()])
    connector = FakeConnector()
    controller = Controller(documents, connector)
    controller.connect_server(ServerConfig("127.0.0.1:8188"))
    qtbot.waitUntil(lambda: controller.state == "connected", timeout=WAIT)
    live = LiveMode(controller, debounce_ms=60_000, poll_ms=10)
    requests: list = []
    build = live.build_request

    def recording(document):
        request, bounds = build(document)
        requests.append(request)
        return request, bounds

    live.build_request = recording  # type: ignore[method-assign]
    return live, documents.active(), connector.clients[-1], requests


def stroke(qtbot, live, document, x: int, colour=(0, 0, 0)) -> None:
    """Paint, and wait until live mode has noticed it (the poll)."""
    document.paint(Bounds(x, 10, 8, 8), colour)
    qtbot.waitUntil(lambda: live._key == document.canvas_key(), timeout=WAIT)


def sent(qtbot, client, count: int) -> str:
    qtbot.waitUntil(lambda: len(client.enqueued) == count, timeout=WAIT)
    qtbot.waitUntil(lambda: f"job-{count}" in live_jobs(client), timeout=WAIT)
    return f"job-{count}"


def live_jobs(client) -> list[str]:
    return [f"job-{i + 1}" for i in range(len(client.enqueued))]


def test_strokes_within_the_quiet_time_make_one_job_with_the_latest_canvas(qtbot, setup) -> None:
    live, document, client, requests = setup
    assert live.start(PARAMS)
    for x, colour in ((10, (255, 0, 0)), (40, (0, 255, 0)), (70, (0, 0, 255))):
        stroke(qtbot, live, document, x, colour)
    assert client.enqueued == [] and live._quiet.isActive()  # still quiet time: nothing sent
    live.quiet_time_over()
    sent(qtbot, client, 1)
    request = requests[-1]
    assert request.mode is Mode.img2img and request.strength == 0.5
    assert request.sampling.seed == 7 and request.prompt == "a red barn"
    assert pixel(request, 74, 14) == (0, 0, 255, 255)  # the last stroke travelled
    # Nothing changed since: the quiet time ending again sends nothing.
    live.quiet_time_over()
    qtbot.wait(50)
    assert len(client.enqueued) == 1


def test_the_quiet_timer_sends_by_itself(qtbot, setup) -> None:
    live, document, client, requests = setup
    live.debounce_ms = 20
    assert live.start(PARAMS)
    sent(qtbot, client, 1)
    stroke(qtbot, live, document, 100, (9, 9, 9))
    sent(qtbot, client, 2)
    assert pixel(requests[-1], 101, 11) == (9, 9, 9, 255)


def test_a_newer_canvas_interrupts_the_running_live_job_and_wins(qtbot, setup) -> None:
    live, document, client, requests = setup
    assert live.start(PARAMS)
    live.quiet_time_over()
    first = sent(qtbot, client, 1)
    client.push(Started(first))
    stroke(qtbot, live, document, 50, (200, 0, 0))
    live.quiet_time_over()
    second = sent(qtbot, client, 2)
    assert client.cancelled == [first]  # by its own id, and nothing else
    assert live.busy  # a cloud pod is not idle while live jobs run
    client.push(Interrupted(first))
    client.push(Finished(second, [png(256, 192, (1, 2, 3, 255))]))
    qtbot.waitUntil(lambda: document.live_visible, timeout=WAIT)
    bounds, image = document.live[-1]
    assert bounds == Bounds(0, 0, 256, 192) and pixel(live.result, 0, 0) == (1, 2, 3, 255)
    assert len(document.live) == 1 and document.layers_added == []  # painter's layers untouched
    assert not live.controller.jobs and not live.controller.busy  # not the docker's jobs
    assert not live.busy


def test_changes_during_an_upload_are_read_once_after_it(qtbot, setup) -> None:
    live, document, client, requests = setup
    gate = qt_event()
    enqueue = client.enqueue

    async def slow_enqueue(workflow):
        await gate.wait()
        return await enqueue(workflow)

    client.enqueue = slow_enqueue
    assert live.start(PARAMS)
    live.quiet_time_over()  # job 1 uploading
    for x in (20, 40, 60):
        stroke(qtbot, live, document, x, (x, x, x))
        live.quiet_time_over()
    gate.set()
    sent(qtbot, client, 2)
    qtbot.wait(50)
    assert len(client.enqueued) == 2 and client.cancelled == ["job-1"]
    # The second job carries the last stroke; the canvas was read twice, not four times.
    assert pixel(requests[-1], 61, 11) == (60, 60, 60, 255) and len(requests) == 2
    assert live.submitted == 2


def qt_event():
    import asyncio

    return asyncio.Event()


def test_a_late_result_of_a_replaced_job_never_covers_a_newer_one(qtbot, setup) -> None:
    live, document, client, _ = setup
    assert live.start(PARAMS)
    live.quiet_time_over()
    first = sent(qtbot, client, 1)
    stroke(qtbot, live, document, 30)
    live.quiet_time_over()
    second = sent(qtbot, client, 2)
    client.push(Finished(second, [png(256, 192, (5, 5, 5, 255))]))
    client.push(Finished(first, [png(256, 192, (6, 6, 6, 255))]))  # too late to interrupt
    qtbot.waitUntil(lambda: live.result is not None, timeout=WAIT)
    qtbot.wait(50)
    assert len(document.live) == 1 and pixel(live.result, 0, 0) == (5, 5, 5, 255)


def test_keep_copies_the_live_result_into_a_new_layer(qtbot, setup) -> None:
    live, document, client, _ = setup
    assert live.keep() is None and "Nothing to keep" in live.message
    assert live.start(PARAMS)
    live.quiet_time_over()
    job = sent(qtbot, client, 1)
    client.push(Finished(job, [png(256, 192, (40, 50, 60, 255))]))
    qtbot.waitUntil(lambda: live.has_result, timeout=WAIT)
    layer = live.keep()
    assert layer is not None and len(document.layers_added) == 1
    name, bounds, image = document.layers_added[0]
    assert bounds == Bounds(0, 0, 256, 192) and name.startswith("[AI] a red barn")
    assert image.data == live.result.image.data and name in live.message
    assert document.live_visible  # live goes on


def test_leaving_live_mode_removes_the_preview_and_cancels_its_job(qtbot, setup) -> None:
    live, document, client, _ = setup
    assert live.start(PARAMS)
    live.quiet_time_over()
    first = sent(qtbot, client, 1)
    client.push(Finished(first, [png(256, 192)]))
    qtbot.waitUntil(lambda: document.live_visible, timeout=WAIT)
    stroke(qtbot, live, document, 90)
    live.quiet_time_over()
    second = sent(qtbot, client, 2)
    live.stop()
    assert not live.active and not document.live_visible and not live.has_result
    qtbot.waitUntil(lambda: client.cancelled == [second], timeout=WAIT)
    client.push(Finished(second, [png(256, 192)]))  # the server finished it anyway
    document.paint(Bounds(120, 10, 8, 8))
    live.quiet_time_over()
    qtbot.wait(50)
    assert not document.live_visible and len(document.live) == 1 and len(client.enqueued) == 2


def test_a_dropped_connection_pauses_and_reconnecting_resumes(qtbot, setup) -> None:
    live, document, client, requests = setup
    assert live.start(PARAMS)
    live.quiet_time_over()
    sent(qtbot, client, 1)
    client.push(ConnectionState("reconnecting", "Connection lost, reconnecting…"))
    qtbot.waitUntil(lambda: live.paused, timeout=WAIT)
    assert live.message == PAUSED
    stroke(qtbot, live, document, 150, (77, 77, 77))
    live.quiet_time_over()
    assert len(client.enqueued) == 1  # nothing sent into a dead connection
    live.debounce_ms = 0
    client.push(ConnectionState("connected", "Reconnected."))
    qtbot.waitUntil(lambda: not live.paused, timeout=WAIT)
    assert live.message == "Live painting resumed."
    sent(qtbot, client, 2)
    assert pixel(requests[-1], 151, 11) == (77, 77, 77, 255)


def test_a_selection_sends_only_its_context_crop_with_a_mask(qtbot, setup) -> None:
    live, document, client, requests = setup
    document.selection = Bounds(100, 60, 40, 30)
    assert live.start(PARAMS)
    live.quiet_time_over()
    job = sent(qtbot, client, 1)
    request = requests[-1]
    crop = inpaint_region(document.extent(), document.selection)
    assert request.mode is Mode.inpaint and request.region == crop
    assert (request.image.width, request.image.height) == (crop.width, crop.height)
    client.push(Finished(job, [png(crop.width, crop.height)]))
    qtbot.waitUntil(lambda: document.live_visible, timeout=WAIT)
    assert document.live[-1][0] == crop


def test_a_canvas_larger_than_the_model_is_scaled_down_before_it_travels(qtbot, qt_loop) -> None:
    documents = FakeDocuments([FakeDocument(width=2048, height=1536)])
    controller = Controller(documents, FakeConnector())
    controller.connect_server(ServerConfig("127.0.0.1:8188"))
    qtbot.waitUntil(lambda: controller.state == "connected", timeout=WAIT)
    live = LiveMode(controller, debounce_ms=60_000)
    live.params = PARAMS
    request, bounds = live.build_request(documents.active())
    assert bounds == Bounds(0, 0, 2048, 1536)
    assert request.image.width * request.image.height <= 1.2 * 512 * 512  # sd 1.5: 512²
    assert request.extent == request.image.extent and request.region == bounds


def test_start_says_what_is_missing(qtbot, qt_loop) -> None:
    controller = Controller(FakeDocuments([FakeDocument()]), FakeConnector())
    live = LiveMode(controller)
    assert not live.start(PARAMS) and "Connect" in live.message and not live.active


def test_a_slow_model_gets_a_note(qtbot, setup) -> None:
    live, *_ = setup
    live.start(PARAMS)  # random-sd15-tiny: the server has no LCM/Lightning LoRA for it
    assert "lags behind" in live.note


def test_the_docker_live_panel_starts_keeps_and_stops(qtbot, qt_loop, tmp_path) -> None:
    from ai_diffusion.qt import Qt
    from ai_diffusion.secrets import SecretStore
    from ai_diffusion.ui.docker_widget import create_docker_widget

    documents = FakeDocuments([FakeDocument()])
    connector = FakeConnector()
    widget = create_docker_widget(
        None, documents, tmp_path, SecretStore(use_system=False), connector
    )
    qtbot.addWidget(widget)
    widget.show()
    panel, live = widget.live_panel, widget.live
    assert live.debounce_ms == 300  # the setting's default
    live.debounce_ms = 0
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    assert not live.active and "Connect" in panel.message.text()
    widget.url.setText("127.0.0.1:8188")
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    panel.prompt.setPlainText("a red barn")
    panel.strength.setValue(40)
    panel.seed.setValue(11)
    assert not panel.keep.isEnabled()
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    assert live.active and panel.start.text() == "Stop live"
    assert "lags behind" in panel.note.text() and panel.note.isVisibleTo(panel)
    client = connector.clients[-1]
    qtbot.waitUntil(lambda: len(client.enqueued) == 1, timeout=WAIT)
    panel.prompt.setPlainText("a red barn in snow")  # a prompt change sends again
    qtbot.waitUntil(lambda: len(client.enqueued) == 2, timeout=WAIT)
    client.push(Finished("job-2", [png(256, 192, (90, 90, 90, 255))]))
    document = documents.active()
    qtbot.waitUntil(lambda: panel.keep.isEnabled(), timeout=WAIT)
    assert document.live_visible and live.result.name.startswith("[AI] a red barn in snow")
    qtbot.mouseClick(panel.keep, Qt.MouseButton.LeftButton)
    assert len(document.layers_added) == 1 and "Kept as layer" in panel.message.text()
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    assert not live.active and not document.live_visible and panel.start.text() == "Start live"
    assert len(document.layers_added) == 1  # what was kept stays
    widget.toggle_live()  # the Krita actions (shortcuts) do what the buttons do
    assert live.active and panel.start.isChecked()
    widget.toggle_live()
    assert not live.active and not panel.start.isChecked()


def test_disconnecting_stops_live_painting(qtbot, setup) -> None:
    live, document, client, _ = setup
    assert live.start(PARAMS)
    live.quiet_time_over()
    job = sent(qtbot, client, 1)
    client.push(Finished(job, [png(256, 192)]))
    qtbot.waitUntil(lambda: document.live_visible, timeout=WAIT)
    live.controller.disconnect_server()
    qtbot.waitUntil(lambda: not live.active, timeout=WAIT)
    assert live.message == "Live painting stopped: disconnected from the server."
    assert not document.live_visible


def test_regions_go_with_live_requests_at_the_size_live_samples(qtbot, qt_loop) -> None:
    """A region's layer mask travels at the size the canvas is sampled at; a region whose
    layer does not reach the selection's crop is left out."""
    from ai_diffusion.state.document import LayerInfo
    from ai_diffusion.state.params import LayerRegion

    document = FakeDocument(width=2048, height=1536)
    document.extra_layers = [LayerInfo("barn", "Barn", "paintlayer")]
    alpha = np.zeros((1536, 2048), np.uint8)
    alpha[:, :512] = 255
    document.painted = {"barn": alpha}
    controller = Controller(FakeDocuments([document]), FakeConnector())
    controller.connect_server(ServerConfig("127.0.0.1:8188"))
    qtbot.waitUntil(lambda: controller.state == "connected", timeout=WAIT)
    live = LiveMode(controller, debounce_ms=60_000, poll_ms=10)
    params = LiveParams(CHECKPOINT, "a farm", seed=7, regions=(LayerRegion("barn", "a barn"),))
    request, _ = live.build_request(document) if live.start(params) else (None, None)
    assert request is not None
    [region] = request.regions
    assert region.prompt == "a barn" and region.mask.extent == request.image.extent
    mask = np.asarray(PILImage.open(io.BytesIO(region.mask.data)).convert("L"))
    assert (
        mask[:, : mask.shape[1] // 4 - 2].min() == 255 and mask[:, mask.shape[1] // 2 :].max() == 0
    )
    request.validate()
    document.selection = Bounds(1800, 1300, 100, 100)  # far from the barn
    request, _ = live.build_request(document)
    assert request.regions == ()
    live.stop()


def test_live_prompts_go_in_the_chosen_styles_template(qtbot, qt_loop, tmp_path) -> None:
    from ai_diffusion.secrets import SecretStore
    from ai_diffusion.ui.docker_widget import create_docker_widget

    widget = create_docker_widget(
        None, FakeDocuments([FakeDocument()]), tmp_path, SecretStore(use_system=False)
    )
    qtbot.addWidget(widget)
    panel = widget.live_panel
    panel.prompt.setPlainText("a red barn")
    widget.style_picker.choose("SD1.5 painterly")
    assert panel.params().prompt.startswith("a red barn, oil painting")
    assert widget.live.params.prompt == panel.params().prompt  # the change reached live mode
    widget.style_picker.choose("")
    assert panel.params().prompt == "a red barn"
