"""The recorded real ComfyUI servers (``tests/data/comfyui/<version>/``), for tests."""

from __future__ import annotations

from tests.comfy_capture import Capture
from tests.fakes.comfy_server import CAPTURES, DEFAULT_VERSION, VERSIONS, load_capture

__all__ = ["CAPTURES", "DEFAULT_VERSION", "OLDEST", "VERSIONS", "Capture", "capture"]
OLDEST = VERSIONS[0]


def capture(version: str = DEFAULT_VERSION) -> Capture:
    return load_capture(version)
