"""Markers in node titles that tell the plugin what a node means to the painter.

In ComfyUI, rename a node (double-click its title) and add, anywhere in the title:

- ``[param]``: every widget of the node becomes a control in Krita;
  ``[param: steps, cfg]``: only those widgets.
- ``[layer: Sketch]``: a Load Image node takes the layer "Sketch" instead of the canvas; an
  output node (Save Image, Preview Image) puts its result into the layer "Sketch".

Case does not matter; several markers may stand in one title.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[\s*(param|layer)\s*(?::([^\]]*))?\]", re.IGNORECASE)


def title_markers(title: str) -> dict[str, str | None]:
    """Marker → its text after ``:`` (None without one), e.g. ``{"param": "steps, cfg"}``."""
    found: dict[str, str | None] = {}
    for match in _MARKER.finditer(title or ""):
        text = match.group(2)
        found[match.group(1).lower()] = text.strip() if text is not None else None
    return found


def plain_title(title: str) -> str:
    """The title without its markers."""
    return " ".join(_MARKER.sub(" ", title or "").split())


def param_names(title: str) -> set[str] | None:
    """The widgets a ``[param]`` title picks: None = none, an empty set = all of them."""
    markers = title_markers(title)
    if "param" not in markers:
        return None
    text = markers["param"]
    return {n.strip() for n in text.split(",") if n.strip()} if text else set()
