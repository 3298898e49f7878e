"""Every action of the plugin has a Krita shortcut (``ai_diffusion.action``), and the file and
the actions the plugin registers (``krita_adapter/plugin.py``, read without Krita) agree."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def registered_actions() -> set[str]:
    tree = ast.parse((ROOT / "ai_diffusion" / "krita_adapter" / "plugin.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "ACTIONS" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    raise AssertionError("plugin.py has no ACTIONS table")


def shortcuts() -> dict[str, str]:
    root = ET.parse(ROOT / "ai_diffusion.action").getroot()
    return {
        action.get("name", ""): (action.findtext("shortcut") or "").strip()
        for action in root.iter("Action")
    }


def test_every_action_has_its_own_shortcut() -> None:
    keys = shortcuts()
    assert set(keys) == registered_actions()
    assert all(keys.values()), keys
    assert len(set(keys.values())) == len(keys), keys  # no two actions on one shortcut
