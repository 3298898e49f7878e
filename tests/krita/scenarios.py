"""GUI scenarios run inside real Krita by the test driver plugin (see gui_driver/)."""

import os

from krita import Krita

from ai_diffusion.qt import QtWidgets

DOCKER_ID = "ai_diffusion_docker"


def docker_visible(driver):
    """The plugin, installed from the zip, shows its docker in the main window."""
    doc = Krita.instance().createDocument(512, 512, "smoke", "RGBA", "U8", "", 72.0)
    Krita.instance().activeWindow().addView(doc)
    yield (lambda: driver.docker(DOCKER_ID) is not None, 20000, "the docker to exist")
    dock = driver.docker(DOCKER_ID)
    yield (lambda: dock.isVisible(), 10000, "the docker to be visible")
    content = dock.findChild(QtWidgets.QWidget, "ai_diffusion_content")
    driver.result["title"] = dock.windowTitle()
    driver.result["content"] = content.objectName() if content is not None else None
    driver.result["geometry"] = [dock.x(), dock.y(), dock.width(), dock.height()]
    yield 1000
    driver.screenshot("gui-smoke.png")


def connected_panel(driver, doc=None):
    """Show ``doc`` (if given), wait for the AI docker and connect it to the test server
    (``AI_DIFFUSION_TEST_SERVER``). Use as ``panel = yield from connected_panel(driver, doc)``."""
    if doc is not None:
        app = Krita.instance()
        app.activeWindow().addView(doc)
        app.setActiveDocument(doc)
    yield (lambda: driver.docker(DOCKER_ID) is not None, 20000, "the AI docker")
    dock = driver.docker(DOCKER_ID)
    dock.show()
    panel = dock.findChild(QtWidgets.QWidget, "ai_diffusion_content")
    yield (lambda: panel is not None, 5000, "the docker content")
    panel.url.setText(os.environ["AI_DIFFUSION_TEST_SERVER"])
    panel.connect_button.click()
    yield (lambda: panel.controller.state in ("connected", "error"), 20000, "connecting")
    assert panel.controller.state == "connected", panel.status.text()
    return panel
