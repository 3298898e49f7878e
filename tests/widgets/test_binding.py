"""Run with each binding (scripts/test.sh runs the widget tests twice)."""

from __future__ import annotations

import asyncio
import os

from ai_diffusion import qt


def test_widgets_use_the_requested_binding(qtbot) -> None:
    expected = {"5": "PyQt5", "6": "PyQt6"}.get(os.environ.get("AI_DIFFUSION_QT", ""))
    if expected:
        assert qt.BINDING == expected
    from ai_diffusion.ui.docker_widget import create_docker_widget

    widget = create_docker_widget()
    qtbot.addWidget(widget)
    widget.show()
    assert widget.isVisible()


def test_async_code_runs_on_the_qt_loop(qtbot, qapp, qt_loop) -> None:
    from ai_diffusion import eventloop

    results = []

    async def job():
        await asyncio.sleep(0.01)
        results.append(qt.QtCore.QThread.currentThread() == qapp.thread())

    eventloop.run(job())
    qtbot.waitUntil(lambda: results == [True], timeout=5000)
