"""GUI scenarios run inside real Krita by the test driver plugin (see gui_driver/)."""

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
