"""A small PNG codec in pure Python (zlib only), for code that runs inside Krita where there
is no numpy or Pillow: decode 8- and 16-bit non-interlaced PNGs to 8-bit channels, encode
8-bit gray, RGB or RGBA. Loops run in C where they can (``bytes``/``map``/``accumulate``);
only the Average and Paeth filters need a Python loop per byte.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from itertools import accumulate
from operator import add

from ..errors import UserError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_LOW_BYTE = (255).__and__
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel


class PngError(UserError):
    pass


@dataclass(frozen=True)
class Pixels:
    """8-bit pixels, row after row, ``channels`` bytes per pixel (1 gray, 2 gray+alpha,
    3 RGB, 4 RGBA)."""

    width: int
    height: int
    channels: int
    data: bytes = field(repr=False)


def _unreadable(why: str) -> PngError:
    return PngError(
        f"An image could not be read ({why}). Generate again; if it keeps happening, report "
        "it with the log file."
    )


def decode(png: bytes) -> Pixels:
    if not png.startswith(SIGNATURE):
        raise _unreadable("not a PNG file")
    pos = len(SIGNATURE)
    header = b""
    palette = b""
    transparency = b""
    idat: list[bytes] = []
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"PLTE":
            palette = body
        elif kind == b"tRNS":
            transparency = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if len(header) != 13:
        raise _unreadable("no PNG header")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    packed = depth < 8 and colour in (0, 3)
    if colour not in CHANNELS or interlace or (depth not in (8, 16) and not packed):
        raise _unreadable(f"an unsupported PNG layout: depth {depth}, colour type {colour}")
    samples = CHANNELS[colour]
    bpp = max(1, samples * depth // 8)
    row_bytes = (width * samples * depth + 7) // 8
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise _unreadable(f"damaged data: {e}") from e
    if len(raw) < height * (row_bytes + 1):
        raise _unreadable("the data is cut short")
    data: bytes = bytes(_unfilter(raw, row_bytes, height, bpp))
    if packed:
        data = _unpack(data, width, height, row_bytes, depth, scale=colour == 0)
    elif depth == 16:
        data = data[0::2]  # high byte of each sample
    if colour == 3:
        return _from_palette(data, width, height, palette, transparency)
    return Pixels(width, height, samples, bytes(data))


def _from_palette(
    indices: bytes, width: int, height: int, palette: bytes, transparency: bytes
) -> Pixels:
    count = len(palette) // 3
    if transparency:
        alpha = transparency + b"\xff" * (256 - len(transparency))
        table = [palette[i * 3 : i * 3 + 3] + alpha[i : i + 1] for i in range(count)]
        channels = 4
    else:
        table = [palette[i * 3 : i * 3 + 3] for i in range(count)]
        channels = 3
    table += [bytes(channels)] * (256 - count)
    return Pixels(width, height, channels, b"".join(table[i] for i in indices))


def _unpack(
    data: bytes | bytearray, width: int, height: int, row_bytes: int, depth: int, scale: bool
) -> bytes:
    """Samples of 1, 2 or 4 bits to one byte each (gray scaled to 0..255)."""
    per_byte = 8 // depth
    top = (1 << depth) - 1
    factor = 255 // top if scale else 1
    table = [
        bytes(((v >> (8 - depth * (i + 1))) & top) * factor for i in range(per_byte))
        for v in range(256)
    ]
    rows = (
        b"".join(map(table.__getitem__, data[y * row_bytes : (y + 1) * row_bytes]))[:width]
        for y in range(height)
    )
    return b"".join(rows)


def _unfilter(raw: bytes, stride: int, height: int, bpp: int) -> bytearray:
    out = bytearray(height * stride)
    previous = bytes(stride)
    pos = 0
    for y in range(height):
        kind = raw[pos]
        line = raw[pos + 1 : pos + 1 + stride]
        pos += stride + 1
        if kind == 0:
            row = line
        elif kind == 1:
            row = _sub(line, bpp)
        elif kind == 2:
            row = bytes(map(_LOW_BYTE, map(add, line, previous)))
        elif kind == 3:
            row = _average(line, previous, bpp)
        elif kind == 4:
            row = _paeth(line, previous, bpp)
        else:
            raise _unreadable(f"unknown row filter {kind}")
        out[y * stride : (y + 1) * stride] = row
        previous = row
    return out


def _sub(line: bytes, bpp: int) -> bytes:
    row = bytearray(len(line))
    for c in range(bpp):
        row[c::bpp] = bytes(map(_LOW_BYTE, accumulate(line[c::bpp])))
    return bytes(row)


def _average(line: bytes, up: bytes, bpp: int) -> bytes:
    row = bytearray(line)
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        row[i] = (row[i] + ((left + up[i]) >> 1)) & 255
    return bytes(row)


def _paeth(line: bytes, up: bytes, bpp: int) -> bytes:
    row = bytearray(line)
    for i in range(min(bpp, len(row))):
        row[i] = (row[i] + up[i]) & 255
    for i in range(bpp, len(row)):
        a = row[i - bpp]
        b = up[i]
        c = up[i - bpp]
        pa = abs(b - c)
        pb = abs(a - c)
        pc = abs(a + b - c - c)
        if pa <= pb and pa <= pc:
            predictor = a
        elif pb <= pc:
            predictor = b
        else:
            predictor = c
        row[i] = (row[i] + predictor) & 255
    return bytes(row)


def encode(pixels: Pixels, level: int = 6) -> bytes:
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[pixels.channels]
    stride = pixels.width * pixels.channels
    data = pixels.data
    rows = b"".join(b"\x00" + data[y * stride : (y + 1) * stride] for y in range(pixels.height))
    header = struct.pack(">IIBBBBB", pixels.width, pixels.height, 8, colour, 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, level))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
