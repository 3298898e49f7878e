"""Object names: the GUI tests (and Qt style sheets) find the docker's widgets by them."""

from __future__ import annotations

from typing import Any


def named(widget: Any, name: str) -> Any:
    """``widget`` with its objectName set to ``name``."""
    widget.setObjectName(name)
    return widget
