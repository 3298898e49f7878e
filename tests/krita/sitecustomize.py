"""Loaded by Krita's Python at start in the GUI tests (PYTHONPATH): any uncaught exception is
written to a file the test fails on, because Krita itself would only show a modal dialog."""

import os
import sys
import traceback

_out = os.environ.get("AI_DIFFUSION_TEST_OUTPUT")
_previous = sys.excepthook


def _record(kind, value, tb):
    if _out:
        with open(os.path.join(_out, "exceptions.txt"), "a") as f:
            f.write("".join(traceback.format_exception(kind, value, tb)) + "\n")
    _previous(kind, value, tb)


if _out:
    sys.excepthook = _record
