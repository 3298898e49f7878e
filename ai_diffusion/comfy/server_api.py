"""Which of ComfyUI's routes a server has, read from the version its ``/system_stats`` reports.

- ``GET /api/jobs`` and ``GET /api/jobs/{id}``: one job's state, with its outputs once it ended
  (ComfyUI 0.6.0, December 2025).
- ``POST /api/jobs/{id}/cancel``: stops a job whether it runs or waits, and only that job
  (ComfyUI 0.26.0, June 2026).

A server that reports no version (a proxy that hides it, a fork) is asked the old way:
``/queue``, ``/history/{id}``, ``/interrupt`` with the job's id and ``/queue {"delete"}``. A route
that turns out to be missing all the same is given up for the old way too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from .answers import as_dict

JOBS_API = (0, 6, 0)
CANCEL_API = (0, 26, 0)


def parse_version(text: str) -> tuple[int, ...] | None:
    """``"0.33.0"`` → ``(0, 33, 0)``; ``"v0.8.0-12-gabc"`` → ``(0, 8, 0)``; no number → None."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


@dataclass(frozen=True)
class ServerApi:
    version: tuple[int, ...] | None = None
    jobs: bool = False  # GET /api/jobs/{id}
    cancel: bool = False  # POST /api/jobs/{id}/cancel

    @classmethod
    def from_system_stats(cls, stats: dict[str, Any]) -> ServerApi:
        text = as_dict(as_dict(stats).get("system")).get("comfyui_version")
        version = parse_version(text) if isinstance(text, str) else None
        if version is None:
            return cls()
        return cls(version, jobs=version >= JOBS_API, cancel=version >= CANCEL_API)

    def without(self, route: str) -> ServerApi:
        """The same server, known now to lack ``route`` ("jobs" or "cancel")."""
        if route == "jobs":
            return replace(self, jobs=False, cancel=False)
        return replace(self, cancel=False)
