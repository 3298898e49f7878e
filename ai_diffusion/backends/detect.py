"""Which backend serves a pasted address: ComfyUI or an Automatic1111/Forge WebUI API.

ComfyUI is tried first (it is what the plugin is made for); only when the address answers
but is not ComfyUI is it asked as a WebUI. Network failures (refused, DNS, TLS, timeouts)
and a ComfyUI login are reported at once, without a second probe.
"""

from __future__ import annotations

from typing import Any, Literal

from ..comfy.client import ComfyClient
from ..comfy.config import ServerConfig
from ..comfy.errors import ConnectionFailure, FailureKind
from .a1111 import WebUIClient
from .png_scale import Scaler

BackendKind = Literal["auto", "comfyui", "a1111"]
KINDS: tuple[BackendKind, ...] = ("auto", "comfyui", "a1111")


async def connect_backend(
    config: ServerConfig, kind: BackendKind = "auto", scale: Scaler | None = None
) -> Any:
    """A connected backend (see :mod:`.contract`) for ``config``: ``kind`` "comfyui" or
    "a1111" forces one; "auto" detects it. ``scale`` serves backends that must bring results
    to the asked size themselves (the WebUI)."""
    if kind == "comfyui":
        return await ComfyClient.connect(config)
    if kind == "a1111":
        return await WebUIClient.connect(config, scale)
    try:
        return await ComfyClient.connect(config)
    except ConnectionFailure as comfy_failure:
        if comfy_failure.kind is not FailureKind.NOT_COMFYUI:
            raise
        try:
            return await WebUIClient.connect(config, scale)
        except ConnectionFailure as webui_failure:
            if webui_failure.kind is not FailureKind.NOT_COMFYUI:
                raise  # it is a WebUI, with a problem of its own (login, proxy…)
            raise ConnectionFailure(
                FailureKind.NOT_COMFYUI,
                f"{config.normalized().url} answered, but neither as ComfyUI nor as an "
                "Automatic1111/Forge WebUI with its API on. Check the address and port "
                "(ComfyUI usually listens on 8188, the WebUI on 7860, or 7861 with "
                "--nowebui); a WebUI must be started with --api.",
                details=f"{comfy_failure.details} | {webui_failure.details}",
            ) from webui_failure
