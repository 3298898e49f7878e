"""asyncio on Qt's event loop, through qasync.

Krita already runs Qt's event loop, so the asyncio loop is installed as "already running":
coroutines scheduled with :func:`run` execute between Qt events on the UI thread and never
block it while they wait for the network.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any

from .qt import BINDING, QtWidgets

log = logging.getLogger(__name__)
_tasks: set[asyncio.Task[Any]] = set()


def install(app: Any = None, *, already_running: bool = True) -> asyncio.AbstractEventLoop:
    """Create (once) the qasync loop on the Qt application and make it asyncio's loop."""
    os.environ.setdefault("QT_API", BINDING.lower())
    import qasync  # imported late: it picks the Qt binding already loaded by ai_diffusion.qt

    loop = _current_qasync_loop(qasync)
    if loop is not None:
        return loop
    app = app or QtWidgets.QApplication.instance()
    loop = qasync.QEventLoop(app, already_running=already_running)
    asyncio.set_event_loop(loop)
    return loop


def _current_qasync_loop(qasync: Any) -> asyncio.AbstractEventLoop | None:
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return None
    return loop if isinstance(loop, qasync.QEventLoop) and not loop.is_closed() else None


def run(coro: Coroutine[Any, Any, Any], *, on_error: Any = None) -> asyncio.Task[Any]:
    """Start ``coro`` on the Qt-driven loop without waiting for it.

    Exceptions are never lost: they go to ``on_error`` (a callable taking the exception) or the
    log. The task is kept referenced until it ends.
    """
    loop = install()
    task = loop.create_task(coro)
    _tasks.add(task)

    def done(t: asyncio.Task[Any]) -> None:
        _tasks.discard(t)
        if t.cancelled():
            return
        error = t.exception()
        if error is None:
            return
        if on_error is not None:
            on_error(error)
        else:
            log.error("background task failed", exc_info=error)

    task.add_done_callback(done)
    return task
