"""The inpaint mask's soft edge, and results that carry it as alpha, in pure Python (no numpy
or Pillow: this runs inside Krita).

A result pasted with this alpha changes nothing outside the feathered mask: there the alpha is
exactly 0. Same idea as the ComfyUI graph (grow the mask, blur it, use it as alpha), built
from C-speed operations: window maxima and sums by doubling on big integers with a lane per
pixel, transposes by extended slices.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter

from . import png

RowsOp = Callable[[bytes, int, int], bytes]  # (pixels, width, height) → pixels

MASK_GROW = 10  # pixels the selection grows by before blurring
BLUR_RADIUS = 3  # box radius of each of BLUR_PASSES blurs (≈ a Gaussian, sigma 3.5)
BLUR_PASSES = 3
# The blur reaches less far than the growth: the selection itself stays fully repainted.
FEATHER_REACH = MASK_GROW + BLUR_RADIUS * BLUR_PASSES  # alpha is 0 farther than this


def soft_mask(mask: bytes, width: int, height: int) -> bytes:
    """``mask`` (one byte per pixel, 255 = repaint) grown by MASK_GROW and blurred: the
    feather. Pixels farther than FEATHER_REACH from any masked pixel stay 0."""
    grown = _both_axes(mask, width, height, lambda b, w, h: _grow_rows(b, w, h, MASK_GROW))
    for _ in range(BLUR_PASSES):
        grown = _both_axes(grown, width, height, lambda b, w, h: _blur_rows(b, w, h, BLUR_RADIUS))
    return grown


def _both_axes(data: bytes, width: int, height: int, rows_op: RowsOp) -> bytes:
    across = rows_op(data, width, height)
    down = rows_op(transpose(across, width, height), height, width)
    return transpose(down, height, width)


def transpose(data: bytes, width: int, height: int) -> bytes:
    out = bytearray(width * height)
    for x in range(width):
        out[x * height : (x + 1) * height] = data[x::width]
    return bytes(out)


def _padded_rows(data: bytes, width: int, height: int, pad: int, edge: bool) -> bytes:
    parts: list[bytes] = []
    for y in range(height):
        row = data[y * width : (y + 1) * width]
        left = row[:1] * pad if edge else bytes(pad)
        right = row[-1:] * pad if edge else bytes(pad)
        parts += (left, row, right)
    return b"".join(parts)


def _rows_from_padded(windows: bytes, width: int, height: int, padded_width: int) -> bytes:
    return b"".join(windows[y * padded_width : y * padded_width + width] for y in range(height))


# Rows are processed as one big integer with a 32-bit lane per pixel (SWAR): one integer
# operation then works on every pixel at once, in C. Values stay below 2**24, so no lane ever
# carries into the next.
LANE = 32


def _lanes(data: bytes) -> int:
    spread = bytearray(len(data) * 4)
    spread[0::4] = data
    return int.from_bytes(spread, "little")


def _from_lanes(value: int, count: int) -> bytes:
    return value.to_bytes(count * 4, "little")[0::4]


def _every_lane(value: int, count: int) -> int:
    return int.from_bytes(value.to_bytes(4, "little") * count, "little")


def _grow_rows(data: bytes, width: int, height: int, radius: int) -> bytes:
    """Each pixel becomes the maximum of its row within ``radius``."""
    padded = _padded_rows(data, width, height, radius, edge=False)
    count = len(padded)
    high, one, full = (_every_lane(v, count) for v in (0x100, 1, 0xFF))

    def maximum(a: int, b: int) -> int:
        a_wins = (((a | high) - b) >> 8 & one) * 0xFF  # 0xFF in lanes where a >= b
        return (a & a_wins) | (b & (a_wins ^ full))

    size = 2 * radius + 1
    m = _lanes(padded)
    k = 1
    while k * 2 <= size:  # lane i holds max(padded[i : i + 2k])
        m = maximum(m, m >> (LANE * k))
        k *= 2
    if k < size:
        m = maximum(m, m >> (LANE * (size - k)))
    return _rows_from_padded(_from_lanes(m, count), width, height, width + 2 * radius)


def _blur_rows(data: bytes, width: int, height: int, radius: int) -> bytes:
    """A box blur along each row; the edge pixel repeats beyond the border."""
    size = 2 * radius + 1
    assert size <= 16  # the reciprocal below divides exactly up to here
    padded = _padded_rows(data, width, height, radius, edge=True)
    count = len(padded)
    x = _lanes(padded)
    total = 0
    offset = 0
    span, block = 1, x  # block: lane i holds the sum of padded[i : i + span]
    n = size
    while n:
        if n & 1:
            total += block >> (LANE * offset)
            offset += span
        n >>= 1
        if n:
            block += block >> (LANE * span)
            span *= 2
    reciprocal = -(-(1 << 16) // size)
    mean = (total * reciprocal) >> 16 & _every_lane(0xFF, count)
    return _rows_from_padded(_from_lanes(mean, count), width, height, width + 2 * radius)


def resize_nearest(data: bytes, width: int, height: int, new_width: int, new_height: int) -> bytes:
    """A one-byte-per-pixel image scaled to a new size, nearest neighbour."""
    if (width, height) == (new_width, new_height):
        return data
    columns = [min(width - 1, (x * width + width // 2) // new_width) for x in range(new_width)]
    pick = itemgetter(*columns) if new_width > 1 else (lambda row: (row[columns[0]],))
    rows = []
    for y in range(new_height):
        source = min(height - 1, (y * height + height // 2) // new_height)
        rows.append(bytes(pick(data[source * width : (source + 1) * width])))
    return b"".join(rows)


def gray(image: png.Pixels) -> bytes:
    """The first channel (a mask's value) of each pixel."""
    return image.data[0 :: image.channels] if image.channels > 1 else image.data


def with_alpha(result_png: bytes, alpha: bytes, alpha_width: int, alpha_height: int) -> bytes:
    """``result_png`` as RGBA with ``alpha`` (scaled to the result's size) as its alpha."""
    result = png.decode(result_png)
    w, h = result.width, result.height
    alpha = resize_nearest(alpha, alpha_width, alpha_height, w, h)
    rgba = bytearray(w * h * 4)
    c, d = result.channels, result.data
    if c >= 3:
        rgba[0::4], rgba[1::4], rgba[2::4] = d[0::c], d[1::c], d[2::c]
    else:
        rgba[0::4] = rgba[1::4] = rgba[2::4] = d[0::c]
    rgba[3::4] = alpha
    return png.encode(png.Pixels(w, h, 4, bytes(rgba)))
