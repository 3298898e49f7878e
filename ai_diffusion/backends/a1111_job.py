"""One WebUI job of ours as the client tracks it, and the pure helpers around its images."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError
from ..request import GenerationRequest
from . import feather, png
from .a1111_payload import Payload


@dataclass
class Job:
    id: str
    request: GenerationRequest
    payload: Payload
    soft_mask: bytes | None = field(default=None, repr=False)  # inpaint alpha, crop-sized
    phase: str = "waiting"  # waiting (sent, not seen running), ours, uncertain
    sent_idle: bool = False
    before_timestamp: str = ""
    timestamp: str = ""  # the job_timestamp of the run we take to be ours
    cancelled: bool = False  # drop the result: Interrupted instead of Finished
    interrupt_when_started: bool = False
    last_preview: str = ""


def busy(state: dict[str, Any]) -> bool:
    return bool(state.get("job")) or int(state.get("job_count") or 0) != 0


def soft_mask_of(mask_png: bytes) -> png.Pixels:
    mask = png.decode(mask_png)
    soft = feather.soft_mask(feather.gray(mask), mask.width, mask.height)
    return png.Pixels(mask.width, mask.height, 1, soft)


def generation_info(answer: dict[str, Any]) -> dict[str, Any]:
    info = answer.get("info")
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except ValueError:
            return {}
    return info if isinstance(info, dict) else {}


def decode_image(value: Any) -> bytes:
    try:
        data = base64.b64decode(str(value).split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not data.startswith(png.SIGNATURE):
        raise UserError(
            "The WebUI sent an image that is not a PNG. Set its image format to PNG "
            "(Settings → Saving images → File format) and generate again."
        )
    return data
