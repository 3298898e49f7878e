"""The text chunks of a PNG file (``tEXt``, ``zTXt``, ``iTXt``), read in pure Python.

ComfyUI writes the workflow it ran into the PNGs it saves: ``prompt`` (the API graph) and
``workflow`` (the page's format), as ``tEXt`` chunks.
"""

from __future__ import annotations

import struct
import zlib

from ...errors import UserError

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class NotPng(UserError):
    pass


def png_text(data: bytes) -> dict[str, str]:
    """Keyword → text of every text chunk of the PNG ``data`` (the first of each keyword)."""
    if not data.startswith(SIGNATURE):
        raise NotPng("The file is not a PNG image.")
    found: dict[str, str] = {}
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if len(body) < length:
            break  # a cut-off file: keep what was read
        entry = _text(kind, body)
        if entry is not None and entry[0] not in found:
            found[entry[0]] = entry[1]
        if kind == b"IEND":
            break
    return found


def _text(kind: bytes, body: bytes) -> tuple[str, str] | None:
    keyword, _, rest = body.partition(b"\0")
    key = keyword.decode("latin-1")
    try:
        if kind == b"tEXt":
            return key, _decode(rest)
        if kind == b"zTXt":  # compression method byte, then zlib data
            return key, _decode(zlib.decompress(rest[1:]))
        if kind == b"iTXt":  # flag, method, language\0, translated keyword\0, text
            compressed = rest[:1] == b"\1"
            _, _, after_language = rest[2:].partition(b"\0")
            _, _, text = after_language.partition(b"\0")
            return key, (zlib.decompress(text) if compressed else text).decode("utf-8", "replace")
    except zlib.error:
        return None
    return None


def _decode(raw: bytes) -> str:
    """tEXt is Latin-1 by the standard, but ComfyUI (through Pillow) writes UTF-8 there when
    the text has characters outside Latin-1 (Pillow then uses iTXt): try UTF-8 first."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
