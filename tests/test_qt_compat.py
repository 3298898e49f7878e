"""One Qt compatibility module: the binding is chosen in one place, by the rules users need."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ai_diffusion"
NAMES_A_BINDING = re.compile(r"""(^\s*(from|import)\s+PyQt[56])|(["']PyQt[56][."'])""", re.M)


def test_no_module_but_qt_names_a_binding() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "vendor" in path.parts or path.name == "qt.py":
            continue
        if NAMES_A_BINDING.search(path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


@pytest.mark.parametrize(
    "forced, expected", [("5", "PyQt5"), ("PyQt6", "PyQt6"), ("pyqt5", "PyQt5")]
)
def test_environment_forces_a_binding_outside_krita(forced: str, expected: str) -> None:
    code = "from ai_diffusion import qt; print(qt.BINDING, qt.QT_MAJOR, qt.QAction.__module__)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"AI_DIFFUSION_QT": forced, "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin"},
    )
    binding, major, action_module = result.stdout.split()
    assert binding == expected
    assert major == expected[-1]
    # QAction lives in QtGui under Qt 6 and in QtWidgets under Qt 5.
    assert action_module == f"{expected}.{'QtGui' if expected == 'PyQt6' else 'QtWidgets'}"


def test_a_binding_already_loaded_wins_over_the_environment() -> None:
    code = "import PyQt5.QtCore; from ai_diffusion import qt; print(qt.BINDING)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"AI_DIFFUSION_QT": "6", "PATH": "/usr/bin"},
    )
    assert result.stdout.strip() == "PyQt5", result.stderr


def test_inside_krita_the_binding_follows_kritas_qt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Krita 6 with PyQt5 also installed must still get PyQt6, and the reverse."""
    import types

    from ai_diffusion import qt

    monkeypatch.setattr(qt, "inside_krita", lambda: True)
    for version, expected in (("6.0.1", "PyQt6"), ("5.15.8", "PyQt5")):
        fake_pykrita = types.ModuleType("pykrita")
        fake_krita = types.ModuleType("krita")
        fake_krita.qVersion = lambda v=version: v  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "pykrita", fake_pykrita)
        monkeypatch.setitem(sys.modules, "krita", fake_krita)
        assert (
            qt.choose_binding({"AI_DIFFUSION_QT": "5" if expected == "PyQt6" else "6"}) == expected
        )
        # Newer Krita answers through pykrita directly.
        fake_pykrita.qt_major_version = lambda v=version: int(v[0])  # type: ignore[attr-defined]
        del fake_krita.qVersion
        assert qt.choose_binding() == expected
