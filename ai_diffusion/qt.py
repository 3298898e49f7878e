"""The one module that names a Qt binding.

Krita 5 embeds PyQt5, Krita 6 embeds PyQt6, and Krita refuses to load a plugin that imports
the other binding. Inside Krita the binding is chosen by Krita's own Qt major version
(``pykrita.qt_major_version()`` where it exists, else ``krita.qVersion()``), never by trying
one import and falling back to the other: on a Krita 5 with PyQt6 installed system-wide that
import succeeds and the process crashes later.

Outside Krita (CLI, tests) the binding is the one already imported, else the one named by the
environment variable ``AI_DIFFUSION_QT`` (``5``/``6``/``PyQt5``/``PyQt6``), else the first
installed of PyQt6, PyQt5.

Everything else imports Qt from here::

    from ..qt import QtCore, QtGui, QtWidgets, QAction, Signal

Differences between Qt 5 and 6 handled here: ``QAction`` moved from QtWidgets to QtGui;
``exec_`` is gone (use :func:`exec_dialog` or ``exec()``, present in both); enums must be
written fully scoped (``Qt.AlignmentFlag.AlignLeft``), which PyQt5 5.15 also accepts.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

BINDINGS = {5: "PyQt5", 6: "PyQt6"}


def inside_krita() -> bool:
    """True when running in Krita's embedded Python (GUI or kritarunner)."""
    return "pykrita" in sys.builtin_module_names


def krita_qt_major() -> int:
    """Krita's Qt major version, asked of Krita itself."""
    import pykrita  # type: ignore[import-not-found]  # Krita builtin C module

    ask = getattr(pykrita, "qt_major_version", None)
    if ask is not None:
        return int(ask())
    import krita

    return int(str(krita.qVersion()).split(".")[0])


def _parse_choice(value: str) -> int | None:
    value = value.strip().lower().removeprefix("pyqt")
    return int(value) if value in ("5", "6") else None


def choose_binding(environ: dict[str, str] | None = None) -> str:
    """Name of the binding this process must use (``PyQt5`` or ``PyQt6``)."""
    if inside_krita():
        return BINDINGS[krita_qt_major()]
    for name in ("PyQt6", "PyQt5"):
        if name in sys.modules:
            return name
    env = os.environ if environ is None else environ
    forced = _parse_choice(env.get("AI_DIFFUSION_QT", ""))
    if forced:
        return BINDINGS[forced]
    for name in ("PyQt6", "PyQt5"):
        if importlib.util.find_spec(name) is not None:
            return name
    raise ImportError(
        "No Qt binding found: install PyQt6 or PyQt5 (pip install PyQt6) to use the docker's widgets."
    )


BINDING = choose_binding()
QT_MAJOR = 6 if BINDING == "PyQt6" else 5

QtCore: Any = importlib.import_module(f"{BINDING}.QtCore")
QtGui: Any = importlib.import_module(f"{BINDING}.QtGui")
QtWidgets: Any = importlib.import_module(f"{BINDING}.QtWidgets")

Qt: Any = QtCore.Qt
Signal: Any = QtCore.pyqtSignal
QObject: Any = QtCore.QObject
QTimer: Any = QtCore.QTimer
QAction: Any = QtGui.QAction if QT_MAJOR == 6 else QtWidgets.QAction


def exec_dialog(dialog: Any) -> int:
    """Run a modal dialog or menu (``exec_`` in old PyQt5 code, ``exec`` everywhere now)."""
    return int(dialog.exec())
