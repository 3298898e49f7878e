"""The regions of each document (layers with prompts of their own, ``Params.regions``), kept
in the document itself: the annotation ``ai_diffusion/regions`` holds a small JSON list, so
a ``.kra`` brings its regions back when it is opened again (Krita keeps a layer's id in the
file). Switching documents switches the docker's region list."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from .document import CanvasDocument
from .params import LayerRegion

log = logging.getLogger(__name__)

ANNOTATION = "ai_diffusion/regions"
VERSION = 1


def encode(regions: Sequence[LayerRegion]) -> bytes:
    """``regions`` as the annotation's bytes; empty for none (the annotation is removed)."""
    if not regions:
        return b""
    items = [{"layer": r.layer_id, "prompt": r.prompt} for r in regions]
    return json.dumps({"version": VERSION, "regions": items}, ensure_ascii=False).encode()


def decode(data: bytes) -> list[LayerRegion]:
    """The regions in ``data``; none for empty, damaged or unknown data (logged)."""
    if not data:
        return []
    try:
        body = json.loads(data.decode("utf-8"))
        if body.get("version") != VERSION:
            log.warning("regions in the document skipped: version %r", body.get("version"))
            return []
        return [LayerRegion(str(r["layer"]), str(r["prompt"])) for r in body["regions"]]
    except Exception as e:  # any damage: the document still opens, without its regions
        log.warning("regions in the document skipped: %s: %s", type(e).__name__, e)
        return []


class DocumentRegions:
    """Each open document's regions, read from it once and written back when they change."""

    def __init__(self) -> None:
        self._known: dict[str, list[LayerRegion]] = {}

    def of(self, document: CanvasDocument) -> list[LayerRegion]:
        if document.id not in self._known:
            try:
                data = document.read_annotation(ANNOTATION) or b""
            except Exception:
                log.warning("regions could not be read from the document", exc_info=True)
                data = b""
            self._known[document.id] = decode(data)
        return list(self._known[document.id])

    def keep(self, document: CanvasDocument, regions: Sequence[LayerRegion]) -> None:
        """Remember ``regions`` for ``document`` and write them into it (only when they
        changed: writing marks the document modified)."""
        regions = list(regions)
        if self._known.get(document.id) == regions:
            return
        self._known[document.id] = regions
        try:
            document.write_annotation(ANNOTATION, encode(regions))
        except Exception:
            log.warning("regions could not be kept in the document", exc_info=True)
