"""Live painting in real Krita: start it from the docker, paint strokes through the Krita API,
and see the [AI] live layer update; Keep adds a layer, Stop removes the live layer."""

from krita import Krita
from scenarios import connected_panel

DOCKER_ID = "ai_diffusion_docker"
CHECKPOINT = "random-sd15-tiny.safetensors"
LIVE = "[AI] live"


def _names(doc):
    return [n.name() for n in doc.rootNode().childNodes()]


def _pixel(node, x, y):
    b, g, r, a = bytes(node.pixelData(x, y, 1, 1))
    return (r, g, b, a)


def paint_live(driver):
    app = Krita.instance()
    doc = app.createDocument(256, 192, "live", "RGBA", "U8", "", 72.0)
    sketch = doc.rootNode().childNodes()[0]
    sketch.setPixelData(bytes([255, 255, 255, 255]) * (256 * 192), 0, 0, 256, 192)
    doc.refreshProjection()
    panel = yield from connected_panel(driver, doc)
    panel.checkpoint.setCurrentText(CHECKPOINT)

    live, live_panel = panel.live, panel.live_panel
    shown = []
    live.result_shown.connect(lambda result: shown.append(result))
    live.debounce_ms = 100
    live_panel.prompt.setPlainText("a red barn")
    live_panel.strength.setValue(60)
    live_panel.start.click()
    assert live.active, live_panel.message.text()
    yield (lambda: len(shown) >= 1, 30000, "the first live preview")
    yield 300
    driver.result["first"] = _names(doc)
    before_strokes = len(shown)
    uploads = live.submitted

    # Strokes through the Krita API on the painter's layer.
    for i in range(3):
        sketch.setPixelData(bytes([0, 0, 200, 255]) * (12 * 12), 40 + 30 * i, 60, 12, 12)
        doc.refreshProjection()
        yield 40
    yield (lambda: len(shown) > before_strokes, 30000, "a live preview after the strokes")
    yield 300
    driver.result["updates"] = len(shown) - before_strokes
    driver.result["sent_after_strokes"] = live.submitted - uploads
    driver.result["after_strokes"] = _names(doc)
    driver.result["sketch_untouched"] = _pixel(sketch, 5, 5) == (255, 255, 255, 255)
    driver.result["stroke_kept"] = _pixel(sketch, 45, 65) == (200, 0, 0, 255)

    live_panel.keep.click()
    yield 300
    driver.result["after_keep"] = _names(doc)
    live_panel.start.click()  # stop
    yield 300
    driver.result["after_stop"] = _names(doc)
    driver.result["message"] = live_panel.message.text()
    driver.screenshot("krita-live.png")
    doc.setModified(False)
