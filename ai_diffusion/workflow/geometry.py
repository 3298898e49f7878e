"""Sizes and crops: sampling resolution, and the context crop around a selection."""

from __future__ import annotations

import math

from ..request import Bounds, Extent


def round8(value: float) -> int:
    return max(8, int(round(value / 8)) * 8)


def sampling_extent(target: Extent, native: Extent) -> Extent:
    """The size to sample at: about the model's native pixel count, the target's aspect
    ratio, multiples of 8. A target already close to native is kept (rounded to 8)."""
    scale = math.sqrt(native.pixels / target.pixels)
    if 0.85 <= scale <= 1.15:
        scale = 1.0
    return Extent(round8(target.width * scale), round8(target.height * scale))


def inpaint_region(canvas: Extent, selection: Bounds, padding: int | None = None) -> Bounds:
    """The part of the canvas to send for inpainting ``selection``.

    The selection's bounds grow by a context margin (by default proportional to the selection's
    size, at least 32 px), are clamped to the canvas and, where the canvas allows, made
    multiples of 8. Only this crop travels to the server.
    """
    if selection.width <= 0 or selection.height <= 0:
        raise ValueError("empty selection")
    sx0 = max(0, selection.x)
    sy0 = max(0, selection.y)
    sx1 = min(canvas.width, selection.x + selection.width)
    sy1 = min(canvas.height, selection.y + selection.height)
    if sx1 <= sx0 or sy1 <= sy0:
        raise ValueError("selection outside the canvas")
    if padding is None:
        padding = max(32, round(max(sx1 - sx0, sy1 - sy0) * 0.4))
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
