"""Test-only Krita plugin: when the main window appears, run the scenario named by
AI_DIFFUSION_GUI_SCENARIO ("module:function", importable from PYTHONPATH), record the result
in AI_DIFFUSION_TEST_OUTPUT/gui-result.json and quit Krita.

A scenario is a generator function taking a :class:`Driver`. It yields either a number of
milliseconds to wait, or a ``(condition, timeout_ms, what)`` tuple to wait until
``condition()`` is true. It fails by raising; values it stores in ``driver.result`` are reported.
"""

import importlib
import json
import os
import sys
import time
import traceback

from krita import Extension, Krita


def _binding():
    """Krita's own Qt binding (PyQt5 in Krita 5, PyQt6 in Krita 6), asked of Krita."""
    try:
        import pykrita

        major = int(pykrita.qt_major_version())
    except (ImportError, AttributeError):
        import krita

        major = int(str(krita.qVersion()).split(".")[0])
    return "PyQt6" if major == 6 else "PyQt5"


_qtcore = importlib.import_module(_binding() + ".QtCore")
_qtwidgets = importlib.import_module(_binding() + ".QtWidgets")
QTimer = _qtcore.QTimer
QApplication = _qtwidgets.QApplication
QDockWidget = _qtwidgets.QDockWidget

OUT = os.environ.get("AI_DIFFUSION_TEST_OUTPUT", ".")


def _record_exception(kind, value, tb):
    with open(os.path.join(OUT, "exceptions.txt"), "a") as f:
        f.write("".join(traceback.format_exception(kind, value, tb)) + "\n")


class Driver:
    def __init__(self, window):
        self.window = window
        self.qwindow = window.qwindow()
        self.result = {}

    def docker(self, object_name):
        for dock in self.qwindow.findChildren(QDockWidget):
            if dock.objectName() == object_name:
                return dock
        return None

    def screenshot(self, name):
        path = os.path.join(OUT, name)
        QApplication.primaryScreen().grabWindow(0).save(path)
        self.result.setdefault("screenshots", []).append(path)
        return path

    def grab(self, widget, name):
        """A picture of one widget as Krita draws it (the docker for the docs)."""
        path = os.path.join(OUT, name)
        widget.grab().save(path)
        self.result.setdefault("screenshots", []).append(path)
        return path

    def process_events(self):
        QApplication.processEvents()


class _Runner:
    def __init__(self, window, scenario):
        self.driver = Driver(window)
        self.steps = scenario(self.driver)
        self.deadline = None
        self.condition = None

    def start(self):
        QTimer.singleShot(0, self.step)

    def step(self):
        try:
            if self.condition is not None:
                cond, what = self.condition
                if not cond():
                    if time.monotonic() > self.deadline:
                        raise AssertionError(f"timed out waiting for: {what}")
                    QTimer.singleShot(100, self.step)
                    return
                self.condition = None
            action = next(self.steps)
        except StopIteration:
            self.finish(True, "")
            return
        except Exception:
            self.finish(False, traceback.format_exc())
            return
        if isinstance(action, tuple):
            cond, timeout_ms, what = action
            self.condition = (cond, what)
            self.deadline = time.monotonic() + timeout_ms / 1000
            QTimer.singleShot(0, self.step)
        else:
            QTimer.singleShot(int(action), self.step)

    def finish(self, ok, error):
        result = dict(self.driver.result, ok=ok, error=error)
        with open(os.path.join(OUT, "gui-result.json"), "w") as f:
            json.dump(result, f, indent=2, default=str)
        for doc in Krita.instance().documents():
            doc.setModified(False)
            doc.close()
        QTimer.singleShot(200, lambda: Krita.instance().action("file_quit").trigger())


class TestDriver(Extension):
    def __init__(self, parent):
        super().__init__(parent)
        self.runner = None

    def setup(self):
        sys.excepthook = _record_exception
        Krita.instance().notifier().setActive(True)
        Krita.instance().notifier().windowCreated.connect(self.window_created)

    def createActions(self, window):
        pass

    def window_created(self):
        window = Krita.instance().activeWindow() or Krita.instance().windows()[0]
        qwindow = window.qwindow()
        screen = QApplication.primaryScreen().geometry()
        qwindow.setGeometry(screen)  # there is no window manager under Xvfb
        module_name, func_name = os.environ["AI_DIFFUSION_GUI_SCENARIO"].split(":")
        scenario = getattr(importlib.import_module(module_name), func_name)
        self.runner = _Runner(window, scenario)
        QTimer.singleShot(500, self.runner.start)


Krita.instance().addExtension(TestDriver(Krita.instance()))
