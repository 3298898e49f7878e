"""Live painting against the fake ComfyUI, shared with another client: only our own live jobs
are removed or interrupted, and inputs travel only when they changed."""

from __future__ import annotations

import pytest

from ai_diffusion import eventloop
from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.request import Bounds, GenerationRequest, Sampling
from ai_diffusion.state.controller import Controller
from ai_diffusion.state.live import LiveMode, LiveParams
from tests.comfy_fixtures import CHECKPOINT, start_server
from tests.widgets.fake_document import FakeDocument, FakeDocuments

WAIT = 20000


def run(qtbot, coro):
    task = eventloop.run(coro)
    qtbot.waitUntil(task.done, timeout=WAIT)
    return task.result()


@pytest.fixture
def shared(qtbot, qt_loop):
    server = run(qtbot, start_server())
    server.fake.faults.step_delay = 0.02
    other = run(qtbot, ComfyClient.connect(ServerConfig(server.url)))
    document = FakeDocument()
    controller = Controller(FakeDocuments([document]))
    controller.connect_server(ServerConfig(server.url))
    qtbot.waitUntil(lambda: controller.state == "connected", timeout=WAIT)
    live = LiveMode(controller, debounce_ms=60_000, poll_ms=10)
    ids: list[str] = []
    client = controller.client
    submit = client.submit

    async def recording(request, on_upload=None):
        job_id = await submit(request, on_upload)
        ids.append(job_id)
        return job_id

    client.submit = recording
    yield server, other, live, document, ids
    controller.disconnect_server()
    qtbot.waitUntil(lambda: controller.client is None, timeout=WAIT)
    run(qtbot, other.close())
    run(qtbot, server.runner.cleanup())


def other_job(qtbot, other, steps: int = 20) -> str:
    request = GenerationRequest(
        CHECKPOINT, "someone else's picture", sampling=Sampling(steps=steps)
    )
    return run(qtbot, other.submit(request))


def stroke(qtbot, live, document, x: int) -> None:
    document.paint(Bounds(x, 20, 10, 10), (x, 0, 0))
    qtbot.waitUntil(lambda: live._key == document.canvas_key(), timeout=WAIT)
    live.quiet_time_over()


def status(server, job_id: str) -> str | None:
    entry = server.fake.history.get(job_id)
    return entry["status"]["status_str"] if entry else None


def test_newer_strokes_remove_and_interrupt_only_our_live_jobs(qtbot, shared) -> None:
    server, other, live, document, ids = shared
    fake = server.fake
    first_other = other_job(qtbot, other)
    assert live.start(LiveParams(CHECKPOINT, "a barn", strength=0.6, seed=3))
    live.quiet_time_over()
    qtbot.waitUntil(lambda: len(ids) == 1, timeout=WAIT)
    stroke(qtbot, live, document, 30)  # the first live job still waits: it is removed
    qtbot.waitUntil(lambda: len(ids) == 2, timeout=WAIT)
    assert ids[0] not in {j.prompt_id for j in fake.pending}
    second_other = other_job(qtbot, other)
    qtbot.waitUntil(
        lambda: fake.running is not None and fake.running.prompt_id == ids[1], timeout=WAIT
    )
    stroke(qtbot, live, document, 60)  # the second one runs: it is interrupted
    qtbot.waitUntil(lambda: len(ids) == 3, timeout=WAIT)
    qtbot.waitUntil(lambda: live.result is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: status(server, second_other) == "success", timeout=WAIT)
    assert status(server, first_other) == "success"  # the other client's jobs: untouched
    assert status(server, ids[0]) is None  # never ran
    assert status(server, ids[1]) == "error"  # interrupted
    messages = [m[0] for m in fake.history[ids[1]]["status"]["messages"]]
    assert "execution_interrupted" in messages
    assert status(server, ids[2]) == "success" and document.live_visible
    assert len(document.live) == 1  # only the latest canvas was shown


def test_inputs_travel_only_when_the_canvas_changed(qtbot, shared) -> None:
    server, _, live, document, ids = shared
    fake = server.fake
    params = LiveParams(CHECKPOINT, "a barn", strength=0.6, seed=3)
    assert live.start(params)
    live.quiet_time_over()
    qtbot.waitUntil(lambda: live.result is not None, timeout=WAIT)
    assert fake.uploads == 1
    live.set_params(LiveParams(CHECKPOINT, "a barn at night", strength=0.6, seed=3))
    live.quiet_time_over()
    qtbot.waitUntil(lambda: len(ids) == 2, timeout=WAIT)
    assert fake.uploads == 1  # same canvas: the server already has it
    stroke(qtbot, live, document, 100)
    qtbot.waitUntil(lambda: len(ids) == 3, timeout=WAIT)
    assert fake.uploads == 2


def test_live_results_come_over_the_websocket_and_nothing_is_saved(qtbot, shared) -> None:
    """A live result is only looked at: it travels back on the live connection (no download
    round trip) and leaves no file on the server, yet it is the very image the server made."""
    server, other, live, document, ids = shared
    fake = server.fake
    assert live.start(LiveParams(CHECKPOINT, "a barn", strength=0.6, seed=3))
    live.quiet_time_over()
    qtbot.waitUntil(lambda: live.result is not None, timeout=WAIT)
    assert fake.views == 0 and fake.outputs == {}
    assert fake.history[ids[0]]["outputs"] == {}
    # The same request saved and downloaded the usual way gives the same pixels.
    request = fake.posted[-1]["prompt"]
    saver = next(n for n in request.values() if n["class_type"] == "SaveImageWebsocket")
    saver["class_type"] = "SaveImage"
    saver["inputs"]["filename_prefix"] = "check"
    from ai_diffusion.workflow.builder import Workflow

    saved_id = run(qtbot, other.enqueue(Workflow(request, output_node=_output_of(request))))
    events = run(qtbot, _finished(other, saved_id))
    from tests.fakes.executor import decode_png

    shown = decode_png(document.live[-1][1].data)
    assert (decode_png(events.images[0]) == shown).all()


def _output_of(graph: dict) -> str:
    return next(i for i, n in graph.items() if n["class_type"] == "SaveImage")


async def _finished(client, job_id: str):
    from ai_diffusion.comfy.events import Finished

    async for event in client.listen():
        if isinstance(event, Finished) and event.job_id == job_id:
            return event


def test_the_canvas_travels_during_the_pause_and_only_the_job_after_it(qtbot, shared) -> None:
    """Halfway through the quiet time the canvas is read and uploaded; at its end the same
    request is posted without reading or uploading again."""
    server, _, live, document, ids = shared
    fake = server.fake
    live.debounce_ms = 3000
    assert live.start(LiveParams(CHECKPOINT, "a barn", strength=0.6, seed=3))
    qtbot.waitUntil(lambda: fake.uploads == 1, timeout=WAIT)
    assert ids == [] and document.reads == 1  # read and sent ahead, no job yet
    live.quiet_time_over()  # the pause is over
    qtbot.waitUntil(lambda: live.result is not None, timeout=WAIT)
    assert len(ids) == 1 and fake.uploads == 1 and document.reads == 1


def test_a_canvas_changed_after_the_read_ahead_is_read_again(qtbot, shared) -> None:
    server, _, live, document, ids = shared
    fake = server.fake
    live.debounce_ms = 3000
    assert live.start(LiveParams(CHECKPOINT, "a barn", strength=0.6, seed=3))
    qtbot.waitUntil(lambda: fake.uploads == 1, timeout=WAIT)
    ahead = set(fake.inputs)
    stroke(qtbot, live, document, 40)  # painted after the read ahead: ends the pause at once
    qtbot.waitUntil(lambda: live.result is not None, timeout=WAIT)
    assert document.reads == 2 and fake.uploads == 2
    assert _loaded_image(fake.posted[-1]["prompt"]) not in ahead  # the painted canvas went


def _loaded_image(graph: dict) -> str:
    return next(n["inputs"]["image"] for n in graph.values() if n["class_type"] == "LoadImage")


@pytest.mark.parametrize("fault", ["drop_ws_instead_of_stream", "skip_streams"])
def test_a_lost_live_result_is_made_again(qtbot, shared, fault: str) -> None:
    """The connection drops just as the result is sent, or the result never arrives: the
    server keeps no copy, so live painting asks again by itself, and the painter sees the
    result, not an error."""
    server, _, live, document, ids = shared
    setattr(server.fake.faults, fault, 1)
    live.debounce_ms = 50
    assert live.start(LiveParams(CHECKPOINT, "a barn", strength=0.6, seed=3))
    live.quiet_time_over()
    qtbot.waitUntil(lambda: live.result is not None, timeout=WAIT)
    assert len(ids) == 2  # the first result was lost; the second job brought it
    assert document.live_visible and live.message == "Live: up to date."


def test_results_that_never_arrive_over_the_websocket_are_downloaded_instead(qtbot, shared) -> None:
    """Something on the way keeps dropping streamed results: after two in a row live painting
    has the server save them and downloads them, rather than asking forever."""
    server, _, live, document, ids = shared
    server.fake.faults.skip_streams = 100
    live.debounce_ms = 50
    assert live.start(LiveParams(CHECKPOINT, "a barn", strength=0.6, seed=3))
    live.quiet_time_over()
    qtbot.waitUntil(lambda: live.result is not None, timeout=WAIT)
    savers = [
        next(n["class_type"] for n in p["prompt"].values() if n["class_type"].startswith("Save"))
        for p in server.fake.posted
        if p["prompt_id"] in ids
    ]
    assert savers == ["SaveImageWebsocket", "SaveImageWebsocket", "SaveImage"]
    assert server.fake.views == 1 and document.live_visible


def test_live_painting_leaves_a_few_files_on_the_server_and_undo_gets_its_own_canvas(
    qtbot, shared
) -> None:
    """ComfyUI cannot delete inputs: live canvases rotate through a few names per client, so a
    long session does not fill the server's disk. Going back to an older canvas (undo) sends it
    again when its name was reused, and the job loads exactly that canvas."""
    from ai_diffusion.comfy.uploads import LIVE_SLOTS

    server, _, live, document, ids = shared
    fake = server.fake
    first = document.pixels.copy()
    assert live.start(LiveParams(CHECKPOINT, "a barn", strength=0.6, seed=3))
    live.quiet_time_over()
    qtbot.waitUntil(lambda: len(ids) == 1, timeout=WAIT)
    first_png = fake.inputs[_loaded_image(fake.posted[-1]["prompt"])]
    for n in range(LIVE_SLOTS + 2):
        stroke(qtbot, live, document, 10 + 12 * n)
        qtbot.waitUntil(lambda n=n: len(ids) == n + 2, timeout=WAIT)
    live_files = [name for name in fake.inputs if name.startswith("aid-live-")]
    assert len(live_files) == LIVE_SLOTS == len(fake.inputs)
    document.pixels[...] = first  # undo every stroke
    document.strokes += 1
    qtbot.waitUntil(lambda: live._key == document.canvas_key(), timeout=WAIT)
    live.quiet_time_over()
    qtbot.waitUntil(lambda: len(ids) == LIVE_SLOTS + 3, timeout=WAIT)
    qtbot.waitUntil(lambda: status(server, ids[-1]) == "success", timeout=WAIT)
    assert fake.inputs[_loaded_image(fake.posted[-1]["prompt"])] == first_png
