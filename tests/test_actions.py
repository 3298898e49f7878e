"""Every action of the plugin has a Krita shortcut (``ai_diffusion.action``), and the file and
the actions the plugin registers (``krita_adapter/plugin.py``, read without Krita) agree."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

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


KRITA_ACTIONS = Path("/usr/share/krita/actions")


def test_no_shortcut_takes_one_of_kritas_own() -> None:
    """Krita's default shortcuts (its .action files, where Krita is installed here) win over a
    plugin's: ours must not collide with them, or the painter's key does something else."""
    files = sorted(KRITA_ACTIONS.glob("*.action"))
    if not files:
        pytest.skip("Krita's action files are not installed here")
    taken: dict[str, str] = {}
    for path in files:
        for action in ET.parse(path).getroot().iter("Action"):
            for key in (action.findtext("shortcut") or "").split(";"):
                if key.strip():
                    taken[_normal(key)] = action.get("name", "")
    clashes = {key: taken[_normal(key)] for key in shortcuts().values() if _normal(key) in taken}
    assert clashes == {}


def _normal(key: str) -> str:
    *mods, last = key.strip().split("+")
    return "+".join([*sorted(m.lower() for m in mods), last.lower()])
