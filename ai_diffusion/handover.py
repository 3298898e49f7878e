"""Where coroutines hand work to Qt: document and widget work never runs inside a task step.

asyncio runs on Qt's event loop (``eventloop``). A Krita call such as ``refreshProjection`` or
``waitForDone`` can spin a nested Qt event loop; if that happens while an asyncio task is
executing, qasync steps *another* task inside it and asyncio refuses ("Cannot enter into task
… while another task … is being executed"): the other task (the websocket reader, say) loses
its step and hangs for good. So coroutines never touch documents or widgets themselves: they
``post`` a plain callable, which Qt runs later as an ordinary callback, in order, with no task
executing. Inside such a callback a nested event loop is harmless: tasks stepped there have no
task to collide with.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from .qt import QTimer

log = logging.getLogger(__name__)


def inside_task() -> bool:
    """True while an asyncio task is executing a step (a coroutine is running)."""
    try:
        return asyncio.current_task() is not None
    except RuntimeError:  # no running loop: plain Qt code
        return False


class Handover:
    """Runs callables on the Qt event loop, outside any task step, in the order posted.

    An exception in one callable is passed to ``on_error`` (or logged) and does not stop the
    ones after it. A callable that spins a nested event loop may see later callables run
    before it returns only if they were posted from inside it; the queue itself never runs
    two at once.
    """

    def __init__(self, on_error: Callable[[BaseException], None] | None = None) -> None:
        self._pending: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._scheduled = False
        self._draining = False
        self._on_error = on_error

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        self._pending.append((fn, args))
        if not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._drain)

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` now when no task is executing (a button's slot), else post it."""
        if inside_task() or self._draining or self._pending:
            self.post(fn, *args)
        else:
            self._run(fn, args)

    def pending(self) -> int:
        return len(self._pending)

    def _drain(self) -> None:
        self._scheduled = False
        if self._draining:  # a nested event loop inside one of ours: the outer drain goes on
            return
        if inside_task():  # only when some other code spins Qt inside a task step: try later
            self._scheduled = True
            QTimer.singleShot(0, self._drain)
            return
        self._draining = True
        try:
            while self._pending:
                fn, args = self._pending.popleft()
                self._run(fn, args)
        finally:
            self._draining = False

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as e:
            if self._on_error is not None:
                self._on_error(e)
            else:
                log.exception("queued Qt callback failed")
