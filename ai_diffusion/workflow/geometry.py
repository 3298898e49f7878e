"""Sizes and crops: sampling resolution, and the context crop around a selection."""

from __future__ import annotations

import math

from ..request import Bounds, Extent, InvalidRequest, Resolution

# Sampling sizes stay within what EmptyLatentImage accepts (16..16384) and what a model can
# make sense of (a latent of at least 8×8).
MIN_SAMPLING_SIDE = 64
MAX_SAMPLING_SIDE = 16384


def round8(value: float, multiple: int = 8) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


def sampling_extent(
    target: Extent, native: Extent, multiple: int = 8, resolution: Resolution = Resolution()
) -> Extent:
    """The size to sample at: about the model's native pixel count, the target's aspect
    ratio, multiples of ``multiple`` (8; 16 for the flow models' 2×2 patches). A target
    already close to native is kept (rounded). The painter's ``resolution`` scales the sides
    of that size, or asks for the target's own size. Extreme aspect ratios are clamped to
    64..16384 per side."""
    if resolution.own_size:
        scale = 1.0
    else:
        scale = math.sqrt(native.pixels / target.pixels)
        if 0.85 <= scale <= 1.15:
            scale = 1.0
        scale *= resolution.scale

    def side(length: int) -> int:
        return min(MAX_SAMPLING_SIDE, max(MIN_SAMPLING_SIDE, round8(length * scale, multiple)))

    return Extent(side(target.width), side(target.height))


CONTEXT_FRACTION = 0.4  # context margin around a selection, relative to its longer side


def inpaint_region(canvas: Extent, selection: Bounds, padding: int | None = None) -> Bounds:
    """The part of the canvas to send for inpainting ``selection``.

    The selection's bounds grow by a context margin (by default proportional to the selection's
    size, at least 32 px), are clamped to the canvas and, where the canvas allows, made
    multiples of 8. Only this crop travels to the server.
    """
    if selection.width <= 0 or selection.height <= 0:
        raise InvalidRequest("The selection is empty. Select the area to change, then try again.")
    sx0 = max(0, selection.x)
    sy0 = max(0, selection.y)
    sx1 = min(canvas.width, selection.x + selection.width)
    sy1 = min(canvas.height, selection.y + selection.height)
    if sx1 <= sx0 or sy1 <= sy0:
        raise InvalidRequest(
            "The selection lies outside the image. Select an area inside it, then try again."
        )
    if padding is None:
        padding = max(32, round(max(sx1 - sx0, sy1 - sy0) * CONTEXT_FRACTION))
    padding = max(0, padding)
    x0, x1 = _grow_axis(sx0, sx1, padding, canvas.width)
    y0, y1 = _grow_axis(sy0, sy1, padding, canvas.height)
    return Bounds(x0, y0, x1 - x0, y1 - y0)


def _grow_axis(start: int, end: int, padding: int, limit: int) -> tuple[int, int]:
    start, end = max(0, start - padding), min(limit, end + padding)
    # Make the length a multiple of 8 by growing into the canvas where there is room.
    missing = (-(end - start)) % 8
    grow_end = min(missing, limit - end)
    end += grow_end
    start = max(0, start - (missing - grow_end))
    return start, end
