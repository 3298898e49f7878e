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
