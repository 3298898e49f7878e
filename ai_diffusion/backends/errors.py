"""Errors of the job-API backends (serverless, Salad), each worded for the painter.

Connection problems use :class:`ai_diffusion.comfy.errors.ConnectionFailure` like the ComfyUI
client, so the docker treats every backend alike; these add what only job APIs have.
"""

from __future__ import annotations

from ..errors import UserError


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


class RequestTooLarge(UserError):
    """The job (graph plus base64 images) is larger than the service accepts in one request.
    Raised before anything is sent."""

    def __init__(self, service: str, size: int, limit: int) -> None:
        super().__init__(
            f"This generation would send {megabytes(size)} to {service}, but it accepts at most "
            f"{megabytes(limit)} per job (the images travel inside the request). Use a smaller "
            "selection, a lower resolution or fewer control layers, then try again."
        )
        self.size = size
        self.limit = limit
