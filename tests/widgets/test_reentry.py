"""Async and Qt meet in one place (ai_diffusion.handover): document work never runs inside an
asyncio task step, so a Krita call that spins Qt's event loop cannot strand another task.

The provocation: a document whose preview write runs a nested Qt event loop (as Krita's
``refreshProjection``/``waitForDone`` may), while previews stream from the fake ComfyUI over a
real websocket. Handled inside the listener's task step, the nested loop steps the websocket
reader too, asyncio refuses ("Cannot enter into task …"), the reader hangs and the result
never arrives.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ai_diffusion.handover import Handover, inside_task
from ai_diffusion.qt import Qt, QtCore, QTimer
from ai_diffusion.secrets import SecretStore
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.comfy_fixtures import CHECKPOINT
from tests.widgets.fake_document import FakeDocument, FakeDocuments


def spin_qt(ms: int = 20) -> None:
    loop = QtCore.QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


class SpinningDocument(FakeDocument):
    """Writing a preview runs a nested Qt event loop, and records whether a task was executing."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.inside_task_calls = 0

    def show_preview(self, image, bounds) -> None:
        self.inside_task_calls += inside_task()
        super().show_preview(image, bounds)
        spin_qt()

    def hide_preview(self) -> None:
        self.inside_task_calls += inside_task()
        super().hide_preview()
        spin_qt()

    def read_image(self, bounds):
        self.inside_task_calls += inside_task()
        spin_qt()
        return super().read_image(bounds)


@pytest.fixture
def spinning(qtbot, qt_loop, tmp_path: Path):
    document = SpinningDocument()
    widget = create_docker_widget(
        None, FakeDocuments([document]), tmp_path, SecretStore(use_system=False)
    )
    qtbot.addWidget(widget)
    widget.show()
    return widget, document


def test_results_arrive_when_document_calls_spin_the_event_loop(
    qtbot, spinning, fake_server: str
) -> None:
    widget, document = spinning
    widget.url.setText(fake_server)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=15000)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    widget.prompt.setPlainText("a harbour in fog")
    widget.model_picker.steps.setValue(8)  # a stream of previews
    widget.strength.setValue(60)  # refine: the canvas is read too
    for _ in range(2):  # twice: the reader must still be alive for the second job
        count = widget.history.count()
        qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda c=count: widget.history.count() == c + 1, timeout=30000)
    assert len(document.previews) >= 4  # previews were written, each spinning the loop
    assert document.inside_task_calls == 0
    assert "Done" in widget.message.text()


def test_handover_runs_in_order_outside_tasks_and_survives_errors(qtbot, qt_loop) -> None:
    seen: list[tuple[str, bool]] = []
    errors: list[BaseException] = []
    handover = Handover(on_error=errors.append)

    def record(name: str) -> None:
        seen.append((name, inside_task()))
        if name == "bad":
            raise ValueError("broken event")

    async def producer() -> None:
        for name in ("a", "bad", "b"):
            handover.call(record, name)  # inside a task: must be posted, not run
            await asyncio.sleep(0)
        assert seen == []

    qt_loop.create_task(producer())
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=5000)
    assert seen == [("a", False), ("bad", False), ("b", False)]
    assert [str(e) for e in errors] == ["broken event"]


def test_handover_keeps_order_when_a_callable_spins_the_loop(qtbot, qt_loop) -> None:
    order: list[str] = []
    handover = Handover()

    def first() -> None:
        order.append("first:start")
        handover.post(order.append, "posted-inside")
        spin_qt()  # the nested loop must not run later callables in between
        order.append("first:end")

    handover.post(first)
    handover.post(order.append, "second")
    qtbot.waitUntil(lambda: len(order) == 4, timeout=5000)
    assert order == ["first:start", "first:end", "second", "posted-inside"]
