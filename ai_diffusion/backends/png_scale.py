"""Scale a PNG to an exact size in pure Python, for backends whose server returns results at
its working size (the WebUI): the result must come back at the size the painter asked for.

Separable resampling with a triangle filter widened by the scale factor when shrinking (so a
downscale averages what it drops instead of skipping pixels), in 8-bit fixed point. Slow next to
Qt or Pillow (about a second per megapixel on one core), so callers above the backends may pass
a faster scaler (``Scaler``); this one is the default that works everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import starmap

from . import png

Scaler = Callable[[bytes, int, int], bytes]  # (PNG, width, height) -> PNG of that size
Taps = list[tuple[tuple[int, ...], tuple[int, ...]]]  # per output: source indices, weights


def _taps(source: int, target: int) -> Taps:
    """For each output index: the source indices and integer weights (summing to 256)."""
    scale = source / target
    support = max(1.0, scale)  # the filter's half width, in source pixels
    taps: Taps = []
    for out in range(target):
        centre = (out + 0.5) * scale - 0.5
        first = int(centre - support) + 1
        last = int(centre + support)
        indices, weights = [], []
        for i in range(first, last + 1):
            w = max(0.0, 1.0 - abs(i - centre) / support)
            if w > 0:
                indices.append(min(source - 1, max(0, i)))
                weights.append(w)
        if not weights:
            indices, weights = [min(source - 1, max(0, round(centre)))], [1.0]
        total = sum(weights)
        fixed = [round(256 * w / total) for w in weights]
        fixed[fixed.index(max(fixed))] += 256 - sum(fixed)  # exactly 256
        taps.append((tuple(indices), tuple(fixed)))
    return taps


def _resample(line: bytes, taps: Taps) -> bytes:
    def one(indices: tuple[int, ...], weights: tuple[int, ...]) -> int:
        return (sum(line[i] * w for i, w in zip(indices, weights, strict=True)) + 128) >> 8

    return bytes(starmap(one, taps))


def _plane(data: bytes, width: int, height: int, new_width: int, new_height: int) -> bytes:
    """One channel (a byte per pixel) scaled: rows first, then columns."""
    if new_width != width:
        across = _taps(width, new_width)
        data = b"".join(_resample(data[y * width : (y + 1) * width], across) for y in range(height))
    if new_height != height:
        down = _taps(height, new_height)
        columns = [data[x::new_width] for x in range(new_width)]
        scaled = [_resample(column, down) for column in columns]
        rows = bytearray(new_width * new_height)
        for x, column in enumerate(scaled):
            rows[x::new_width] = column
        data = bytes(rows)
    return data


def scale_png(data: bytes, width: int, height: int) -> bytes:
    """``data`` (a PNG) at exactly ``width`` × ``height``; unchanged when it already is."""
    pixels = png.decode(data)
    if (pixels.width, pixels.height) == (width, height):
        return data
    c = pixels.channels
    planes = [_plane(pixels.data[i::c], pixels.width, pixels.height, width, height)
              for i in range(c)]  # fmt: skip
    out = bytearray(width * height * c)
    for i, plane in enumerate(planes):
        out[i::c] = plane
    return png.encode(png.Pixels(width, height, c, bytes(out)))
