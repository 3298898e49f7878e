"""Decoding websocket frames: JSON messages and binary images (step previews, and the results
of ``SaveImageWebsocket``, which ComfyUI sends the same way)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

PREVIEW_IMAGE = 1
TEXT = 3
PREVIEW_IMAGE_WITH_METADATA = 4
IMAGE_FORMATS = {1: "jpeg", 2: "png"}


@dataclass(frozen=True)
class Message:
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class PreviewFrame:
    image: bytes = field(repr=False)
    format: str
    prompt_id: str | None = None  # only with metadata (event 4)
    node_id: str | None = None  # the node that sent it (event 4): a sampler, or SaveImageWebsocket


def parse_text(text: str) -> Message | None:
    """A JSON message, or None for anything malformed or of an unexpected shape."""
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("type"), str):
        return None
    data = decoded.get("data")
    return Message(decoded["type"], data if isinstance(data, dict) else {})


def parse_binary(frame: bytes) -> PreviewFrame | None:
    """A preview image from a binary frame, or None for other or truncated frames."""
    if len(frame) < 8:
        return None
    event, second = struct.unpack(">II", frame[:8])
    if event == PREVIEW_IMAGE:
        image = frame[8:]
        return PreviewFrame(image, IMAGE_FORMATS.get(second, "jpeg")) if image else None
    if event == PREVIEW_IMAGE_WITH_METADATA:
        end = 8 + second
        if len(frame) <= end:
            return None
        try:
            meta = json.loads(frame[8:end])
        except ValueError:
            return None
        if not isinstance(meta, dict):
            return None
        kind = str(meta.get("image_type", "image/jpeg"))
        fmt = "png" if "png" in kind else "jpeg"
        prompt_id = meta.get("prompt_id")
        node_id = meta.get("node_id")
        return PreviewFrame(
            frame[end:],
            fmt,
            prompt_id if isinstance(prompt_id, str) else None,
            str(node_id) if isinstance(node_id, (str, int)) else None,
        )
    return None
