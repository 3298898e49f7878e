"""The pod gateway's program, as data: the plugin packs its source into a pod's start command.

``gateway.py`` runs on the pod (standard library and aiohttp only); nothing in the plugin
imports it as a module.
"""

from __future__ import annotations

from pathlib import Path

PROGRAM = Path(__file__).with_name("gateway.py")


def gateway_source() -> str:
    """The gateway's source text, to run as ``python gateway.py`` on a pod."""
    return PROGRAM.read_text(encoding="utf-8")
