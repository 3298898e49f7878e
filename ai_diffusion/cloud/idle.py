"""Idle auto-stop: a pod with no job for N minutes is stopped, after a warning one minute before."""

from __future__ import annotations

from enum import Enum


class IdleAction(str, Enum):
    none = "none"
    warn = "warn"
    stop = "stop"


class IdleWatch:
    """Pure logic, driven by a clock (a Qt timer in the docker, a fake clock in tests)."""

    def __init__(self, minutes: float, now: float) -> None:
        self.limit = minutes * 60
        self.last_activity = now
        self.busy = 0
        self.warned = False
        self.stopped = False

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def job_started(self, now: float) -> None:
        self.busy += 1
        self.last_activity = now
        self.warned = False

    def job_finished(self, now: float) -> None:
        self.busy = max(0, self.busy - 1)
        self.last_activity = now
        self.warned = False

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.limit - (now - self.last_activity))

    def tick(self, now: float) -> IdleAction:
        if not self.enabled or self.busy or self.stopped:
            return IdleAction.none
        left = self.seconds_left(now)
        if left <= 0:
            self.stopped = True
            return IdleAction.stop
        if left <= 60 and not self.warned:
            self.warned = True
            return IdleAction.warn
        return IdleAction.none
