"""When the plugin cannot start inside Krita, the painter must see why.

Krita reports a failed plugin import only as lines in its log: no dialog, nothing in the
window. So a failure while registering is written to stderr (Krita's log) with the full
traceback, and shown in a message box as soon as Krita's main window exists.
"""

from __future__ import annotations

import sys
import traceback

MARKER = "ai_diffusion: the plugin could not start"


def message(error: BaseException) -> str:
    return (
        "AI Image Generation could not start in this version of Krita "
        f"({type(error).__name__}: {error}).\n\n"
        "Please check for an update of the plugin; if there is none, report this message "
        "together with Krita's version (Help › About Krita)."
    )


def report(error: BaseException) -> None:
    print(MARKER, file=sys.stderr)
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    try:
        from krita import Krita

        from .qt import QTimer, QtWidgets
    except Exception:  # Qt itself is the problem: the log line is all we can do
        return
    text = message(error)

    def show() -> None:
        window = Krita.instance().activeWindow()
        parent = window.qwindow() if window is not None else None
        QtWidgets.QMessageBox.warning(parent, "AI Image Generation", text)

    notifier = Krita.instance().notifier()
    notifier.setActive(True)
    notifier.windowCreated.connect(lambda: QTimer.singleShot(0, show))
