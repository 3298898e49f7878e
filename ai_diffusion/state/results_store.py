"""A document's results as bytes, to keep inside the document (a ``.kra``'s annotations).

The container is a small zip made in memory (nothing here imports Qt or Krita): ``results.json``
(the format's name and version, and per result its PNG's file, the bounds on the canvas, the
layer name, prompt, seed and style) and one stored (not recompressed) PNG per result.

Bounded: the newest results whose images fit in ``MAX_BYTES`` together, at most ``MAX_COUNT``;
older ones (and a single image larger than the whole budget) are left out. Reading never
raises: damaged data or a newer version is logged and gives no results, a damaged entry is
skipped.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..request import Bounds, Image, png_size

log = logging.getLogger(__name__)

ANNOTATION = "ai_diffusion/results"  # the document annotation that holds them
FORMAT = "ai_diffusion.results"
VERSION = 1
MAX_BYTES = 32 * 1024 * 1024  # PNG bytes kept per document
MAX_COUNT = 64
HEADER = "results.json"


@dataclass(frozen=True)
class KeptResult:
    """One result as the document keeps it."""

    image: Image
    bounds: Bounds
    name: str
    prompt: str = ""
    seed: int = 0
    style: str = ""
    updates_layer: bool = False  # a workflow's [layer: NAME] result: Apply updates NAME


class ResultLike(Protocol):
    @property
    def image(self) -> Image: ...

    @property
    def bounds(self) -> Bounds: ...

    @property
    def name(self) -> str: ...

    @property
    def prompt(self) -> str: ...

    @property
    def seed(self) -> int: ...


def newest_within_bound(
    results: Sequence[ResultLike], max_bytes: int = MAX_BYTES, max_count: int = MAX_COUNT
) -> list[ResultLike]:
    """The results that are kept, oldest first: from the newest back, each whose image still
    fits in ``max_bytes``, until ``max_count`` are kept."""
    kept: list[ResultLike] = []
    total = 0
    for result in reversed(results):
        if len(kept) >= max_count:
            break
        size = len(result.image.data)
        if total + size > max_bytes:
            continue
        kept.append(result)
        total += size
    return kept[::-1]


def encode(
    results: Sequence[ResultLike], max_bytes: int = MAX_BYTES, max_count: int = MAX_COUNT
) -> bytes:
    """``results`` (oldest first) as the container; see the module's bound."""
    entries = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i, result in enumerate(newest_within_bound(results, max_bytes, max_count)):
            file = f"{i}.png"
            archive.writestr(file, result.image.data)
            b = result.bounds
            entries.append(
                {
                    "file": file,
                    "bounds": [b.x, b.y, b.width, b.height],
                    "name": result.name,
                    "prompt": result.prompt,
                    "seed": result.seed,
                    "style": str(getattr(result, "style", "")),
                    "updates_layer": bool(getattr(result, "updates_layer", False)),
                }
            )
        header = {"format": FORMAT, "version": VERSION, "results": entries}
        archive.writestr(HEADER, json.dumps(header, ensure_ascii=False), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def decode(data: bytes) -> list[KeptResult]:
    """The results in ``data``, oldest first; [] for empty, damaged or unknown data."""
    if not data:
        return []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            header = json.loads(archive.read(HEADER))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                log.warning("kept results skipped: not a results container")
                return []
            if header.get("version") != VERSION:
                log.warning(
                    "kept results skipped: version %r (this plugin reads %d); a newer plugin "
                    "saved them",
                    header.get("version"),
                    VERSION,
                )
                return []
            entries = header.get("results")
            if not isinstance(entries, list):
                log.warning("kept results skipped: no list of results")
                return []
            return [r for r in (_entry(archive, e, i) for i, e in enumerate(entries)) if r]
    except Exception as e:  # zipfile, zlib, json: any damage ends here
        log.warning("kept results skipped: damaged data (%s: %s)", type(e).__name__, e)
        return []


def _entry(archive: zipfile.ZipFile, entry: Any, index: int) -> KeptResult | None:
    try:
        data = archive.read(str(entry["file"]))
        size = png_size(data)
        x, y, width, height = (int(v) for v in entry["bounds"])
        if width <= 0 or height <= 0:
            raise ValueError(f"empty bounds {entry['bounds']}")
        return KeptResult(
            Image(data, size.width, size.height),
            Bounds(x, y, width, height),
            str(entry["name"]),
            str(entry.get("prompt", "")),
            int(entry.get("seed", 0)),
            str(entry.get("style", "")),
            bool(entry.get("updates_layer", False)),
        )
    except Exception as e:  # one damaged entry costs only itself
        log.warning("kept result %d skipped: %s: %s", index, type(e).__name__, e)
        return None
