"""End-to-end in real Krita: connect to the fake ComfyUI from the docker, txt2img and inpaint
from a selection, apply both as layers, check pixels, take a screenshot."""

import os

from krita import Krita, Selection
from scenarios import connected_panel

from ai_diffusion.qt import QtWidgets

DOCKER_ID = "ai_diffusion_docker"
CHECKPOINT = "random-sd15-tiny.safetensors"
# Against a real ComfyUI (AI_DIFFUSION_TEST_REAL_SERVER=1, e.g. on the CPU with random-weight
# models) jobs take longer and the images are not the fake's flat colours.
REAL_SERVER = os.environ.get("AI_DIFFUSION_TEST_REAL_SERVER") == "1"
RESULT_WAIT_MS = int(os.environ.get("AI_DIFFUSION_TEST_WAIT_S", "30")) * 1000


def _pixel(node_or_doc, x, y):
    b, g, r, a = bytes(node_or_doc.pixelData(x, y, 1, 1))
    return (r, g, b, a)


def _results(driver, panel, count):
    def check():
        driver.result["message"] = panel.message.text()
        return panel.history.count() == count

    return check


def generate_and_inpaint(driver):
    app = Krita.instance()
    doc = app.createDocument(256, 192, "e2e", "RGBA", "U8", "", 72.0)
    background = doc.rootNode().childNodes()[0]
    background.setPixelData(bytes([40, 90, 200, 255]) * (256 * 192), 0, 0, 256, 192)
    doc.refreshProjection()
    app.activeWindow().addView(doc)
    app.setActiveDocument(doc)
    # Make room: hide the other dockers so the AI docker is large in the screenshot.
    for dock in driver.qwindow.findChildren(QtWidgets.QDockWidget):
        if dock.objectName() not in (DOCKER_ID, "KisLayerBox"):
            dock.hide()
    yield (lambda: driver.docker(DOCKER_ID) is not None, 20000, "the AI docker")
    dock = driver.docker(DOCKER_ID)
    dock.show()
    panel = dock.findChild(QtWidgets.QWidget, "ai_diffusion_content")
    yield (lambda: panel.objectName() == "ai_diffusion_content", 5000, "the docker content")

    panel.url.setText(os.environ["AI_DIFFUSION_TEST_SERVER"])
    panel.connect_button.click()
    yield (lambda: panel.controller.state in ("connected", "error"), 20000, "connecting")
    assert panel.controller.state == "connected", panel.status.text()
    driver.result["status"] = panel.status.text()
    panel.refresh.click()
    yield (lambda: "refreshed" in panel.message.text(), 20000, "the model list to refresh")
    checkpoints = [panel.checkpoint.itemText(i) for i in range(panel.checkpoint.count())]
    assert CHECKPOINT in checkpoints, checkpoints

    # txt2img on the whole canvas
    panel.checkpoint.setCurrentText(CHECKPOINT)
    panel.prompt.setPlainText("a lighthouse at dusk")
    panel.model_picker.steps.setValue(3)
    panel.seed_random.setChecked(False)
    panel.seed.setValue(11)
    panel.generate_button.click()
    yield (
        _results(driver, panel, 1),
        RESULT_WAIT_MS,
        "txt2img result",
    )
    assert panel.history.count() == 1, panel.message.text()
    panel.history.setCurrentRow(0)
    panel.apply_button.click()
    yield 300
    layers = [n for n in doc.rootNode().childNodes() if n.name().startswith("[AI] a lighthouse")]
    assert len(layers) == 1, [n.name() for n in doc.rootNode().childNodes()]
    txt_layer = layers[0]
    corner, centre = _pixel(txt_layer, 2, 2), _pixel(txt_layer, 128, 96)
    assert corner[3] == 255 and (REAL_SERVER or corner == centre), (corner, centre)
    driver.result["txt2img_pixel"] = corner
    txt_layer.setVisible(False)
    doc.refreshProjection()
    doc.waitForDone()

    # inpaint inside a selection
    before_inside = _pixel(doc, 150, 100)
    before_outside = _pixel(doc, 5, 5)
    selection = Selection()
    selection.select(130, 80, 50, 40, 255)
    doc.setSelection(selection)
    panel.prompt.setPlainText("a red hat")
    panel.seed.setValue(12)
    panel.generate_button.click()
    yield (
        _results(driver, panel, 2),
        RESULT_WAIT_MS,
        "inpaint result",
    )
    assert panel.history.count() == 2, panel.message.text()
    panel.history.setCurrentRow(1)
    panel.apply_button.click()
    yield 500
    doc.refreshProjection()
    doc.waitForDone()
    inpainted = [n for n in doc.rootNode().childNodes() if n.name().startswith("[AI] a red hat")]
    assert len(inpainted) == 1
    after_inside, after_outside = _pixel(doc, 150, 100), _pixel(doc, 5, 5)
    driver.result["inpaint"] = {
        "inside": [before_inside, after_inside],
        "outside": [before_outside, after_outside],
    }
    assert after_inside != before_inside
    assert after_outside == before_outside
    assert _pixel(inpainted[0], 5, 5)[3] == 0  # transparent outside the mask
    doc.setSelection(Selection())
    txt_layer.setVisible(True)
    doc.refreshProjection()
    yield 1000
    driver.screenshot("krita-docker-result.png")


def undo_removes_applied_result(driver):
    """Edit › Undo right after Apply takes the result layer away in one step, and Redo brings
    it back. Hovering over results (the preview shown and hidden again and again) costs at most
    one undo step, so the painter's own steps stay in Krita's history (30 steps by default)."""
    from ai_diffusion.krita_adapter.document import KritaDocument
    from ai_diffusion.qt import QtCore, QtGui
    from ai_diffusion.request import Bounds, Image

    app = Krita.instance()
    doc = app.createDocument(128, 96, "undo", "RGBA", "U8", "", 72.0)
    app.activeWindow().addView(doc)
    app.setActiveDocument(doc)
    yield 500
    doc.rootNode().addChildNode(doc.createNode("painter's layer", "paintlayer"), None)
    yield 1000  # the painter's own undo step

    qimage = QtGui.QImage(32, 32, QtGui.QImage.Format.Format_ARGB32)
    qimage.fill(QtGui.QColor(0, 200, 0, 255))
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    qimage.save(buffer, "PNG")
    image = Image(bytes(buffer.data()), 32, 32)

    def names():
        return [n.name() for n in doc.rootNode().childNodes()]

    adapter = KritaDocument(doc)
    for _ in range(20):  # the pointer over a thumbnail and off it again, twenty times
        adapter.show_preview(image, Bounds(8, 8, 32, 32))
        adapter.hide_preview()
    adapter.show_preview(image, Bounds(8, 8, 32, 32))
    adapter.apply_result(image, Bounds(8, 8, 32, 32), "[AI] undo me (1)")
    # Krita 6 puts a command on the undo stack once the image has processed it: on a busy
    # machine an Undo sent at once can still meet the command before it.
    yield 1500
    driver.result["after_apply"] = _names(doc)
    driver.result["undo_text"] = app.action("edit_undo").text()
    undone = []
    for _ in range(3):
        app.action("edit_undo").trigger()
        yield 500
        undone.append(names())
    driver.result["undone"] = undone
    for _ in range(3):
        app.action("edit_redo").trigger()
        yield 500
    driver.result["after_redo"] = _names(doc)
    doc.setModified(False)


def _send_ctrl_enter(widget):
    """A real key event, delivered to the prompt as Krita would deliver the painter's keys."""
    from ai_diffusion.qt import Qt, QtCore, QtGui

    for kind in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease):
        event = QtGui.QKeyEvent(kind, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        QtWidgets.QApplication.sendEvent(widget, event)


def _names(doc):
    """The layers the painter sees: the preview layer stays in the document, hidden, between
    uses (hiding it is no undo step, removing it would be)."""
    return [n.name() for n in doc.rootNode().childNodes() if n.visible()]


def closed_without_a_document(driver):
    """The first start, closed before any document is opened (Krita 5.3 and 6 show no other
    dockers until then)."""
    yield (lambda: driver.docker(DOCKER_ID) is not None, 20000, "the AI docker")
    dock = driver.docker(DOCKER_ID)
    yield (lambda: dock.isVisible(), 5000, "the docker shown")
    yield 3000
    driver.result["room"] = Krita.instance().readSetting("ai_diffusion", "docker_room", "")
    driver.result["docks"] = _dock_layout(driver.qwindow)


def _dock_layout(main):
    """The shown dockers: name, [x, y, width, height], the dockers tabbed with it."""
    return [
        [d.objectName(), [d.x(), d.y(), d.width(), d.height()]]
        + [[t.objectName() for t in main.tabifiedDockWidgets(d)]]
        for d in main.findChildren(QtWidgets.QDockWidget)
        if d.isVisible() and not d.isFloating()
    ]


def painting_loop(driver):
    """The new panel in Krita's default workspace: connect, generate with Ctrl+Enter, hover a
    result (preview layer on the canvas), double-click to apply, inpaint, undo; screenshots
    named after the screen size (AI_DIFFUSION_TEST_SCREEN)."""
    from ai_diffusion.qt import QtGui

    screen = os.environ.get("AI_DIFFUSION_TEST_SCREEN", "screen")
    app = Krita.instance()
    doc = app.createDocument(512, 384, "loop", "RGBA", "U8", "", 72.0)
    background = doc.rootNode().childNodes()[0]
    background.setPixelData(bytes([40, 90, 200, 255]) * (512 * 384), 0, 0, 512, 384)
    doc.refreshProjection()
    app.activeWindow().addView(doc)
    app.setActiveDocument(doc)
    yield (lambda: driver.docker(DOCKER_ID) is not None, 20000, "the AI docker")
    dock = driver.docker(DOCKER_ID)
    # Shown and in front by the plugin itself on the first start, in whatever Krita's first
    # view did to the layout (the scenario does not touch it).
    panel = dock.findChild(QtWidgets.QWidget, "ai_diffusion_content")
    yield (lambda: panel.isVisible(), 5000, "the docker content shown")
    yield 2000  # the plugin makes room over a second once the first view is shown
    driver.result["dock_size"] = [dock.width(), dock.height()]
    driver.result["introduced"] = app.readSetting("ai_diffusion", "docker_introduced", "")

    panel.url.setText(os.environ["AI_DIFFUSION_TEST_SERVER"])
    panel.connect_button.click()
    yield (lambda: panel.controller.state in ("connected", "error"), 20000, "connecting")
    assert panel.controller.state == "connected", panel.status.text()
    driver.result["line"] = panel.connection_section.line.text()
    yield 300
    driver.result["dock_size_connected"] = [dock.width(), dock.height()]
    # How much of each part of the loop shows: [visible height, height, top in the dock].
    driver.result["loop_shown"] = {
        w.objectName(): [
            w.visibleRegion().boundingRect().height(),
            w.height(),
            w.mapTo(dock, w.rect().topLeft()).y(),
        ]
        for w in (panel.prompt, panel.generate_button, panel.history)
    }
    driver.result["docks"] = _dock_layout(driver.qwindow)
    driver.result["form_hidden"] = not panel.url.isVisible()
    yield (lambda: panel.checkpoint.findText(CHECKPOINT) >= 0, 10000, "the model list")
    panel.checkpoint.setCurrentText(CHECKPOINT)
    panel.model_picker.steps.setValue(3)
    panel.prompt.setPlainText("a lighthouse at dusk")
    panel.prompt.setFocus()
    driver.result["submitted"] = False
    panel.prompt.submitted.connect(lambda: driver.result.__setitem__("submitted", True))
    _send_ctrl_enter(panel.prompt)
    yield 300
    if not driver.result["submitted"]:
        panel.generate_button.click()  # recorded; the rest of the loop still runs
    yield (_results(driver, panel, 1), RESULT_WAIT_MS, "the first result")

    # Hover: the pointer over the thumbnail shows the result on the canvas.
    item = panel.history.item(0)
    viewport = panel.history.viewport()
    centre = viewport.mapToGlobal(panel.history.visualItemRect(item).center())
    QtGui.QCursor.setPos(centre)
    yield 800
    if "[AI] preview" not in _names(doc):
        panel.history.itemEntered.emit(item)  # a screen without a pointer sends no hover
        driver.result["hover_by"] = "signal"
        yield 300
    else:
        driver.result["hover_by"] = "pointer"
    driver.result["while_hovering"] = _names(doc)
    driver.screenshot(f"panel-hover-{screen}.png")
    panel.history.left.emit()  # the pointer leaves the strip
    yield 300
    driver.result["after_leaving"] = _names(doc)

    # Double-click applies the result as a layer.
    panel.history.itemDoubleClicked.emit(item)
    yield 300
    driver.result["after_apply"] = _names(doc)

    # Inpaint a selection, apply from the context menu, then undo it.
    selection = Selection()
    selection.select(260, 160, 100, 80, 255)
    doc.setSelection(selection)
    panel.canvas_changed()
    driver.result["strength_words"] = panel.strength_label.text()
    panel.prompt.setPlainText("a red hat")
    panel.generate_button.click()
    yield (_results(driver, panel, 2), RESULT_WAIT_MS, "the inpaint result")
    menu = panel.results.menu_for(panel.history.item(1))
    next(a for a in menu.actions() if a.text() == "Apply").trigger()
    yield 300
    driver.result["after_inpaint"] = _names(doc)
    app.action("edit_undo").trigger()  # right after Apply: one step takes the result away
    yield 500
    driver.result["after_undo"] = _names(doc)
    app.action("edit_redo").trigger()
    yield 500
    doc.setSelection(Selection())
    yield 500
    driver.screenshot(f"panel-result-{screen}.png")
    doc.setModified(False)


def workflow_mode(driver):
    """The Workflow mode: a workflow of the painter's own (an image input, two [param]
    widgets) runs on the canvas, and its result is applied as the layer its output names."""
    import json
    import tempfile

    app = Krita.instance()
    doc = app.createDocument(256, 192, "workflow", "RGBA", "U8", "", 72.0)
    background = doc.rootNode().childNodes()[0]
    background.setPixelData(bytes([40, 90, 200, 255]) * (256 * 192), 0, 0, 256, 192)
    doc.refreshProjection()
    panel = yield from connected_panel(driver, doc)

    graph = {
        "3": {"class_type": "KSampler", "_meta": {"title": "Sampler [param: steps, cfg]"},
              "inputs": {"seed": 5, "steps": 2, "cfg": 7.0, "sampler_name": "euler",
                         "scheduler": "normal", "denoise": 0.75, "model": ["4", 0],
                         "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["13", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CHECKPOINT}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "_meta": {"title": "[layer: Painted]"},
              "inputs": {"filename_prefix": "wf", "images": ["8", 0]}},
        "11": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
        "13": {"class_type": "VAEEncode", "inputs": {"pixels": ["11", 0], "vae": ["4", 2]}},
    }  # fmt: skip
    path = os.path.join(tempfile.mkdtemp(), "img2img.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(graph, f)
    panel.modes.buttons["workflow"].click()
    assert panel.modes.mode == "workflow"
    panel.workflow.open_file(path)
    yield 200
    page = panel.workflow_page
    assert panel.workflow.problem == "", panel.workflow.problem
    steps, cfg = page.controls["3.steps"], page.controls["3.cfg"]
    driver.result["controls"] = [type(steps).__name__, type(cfg).__name__]
    driver.result["limits"] = [steps.minimum(), steps.maximum(), cfg.minimum(), cfg.maximum()]
    steps.setValue(3)
    panel.prompt.setPlainText("a fox in the snow")
    panel.generate_button.click()
    yield (_results(driver, panel, 1), RESULT_WAIT_MS, "the workflow's result")
    assert panel.history.count() == 1, panel.message.text()
    driver.result["result_name"] = panel.controller.results[-1].name
    driver.screenshot("krita-workflow-mode.png")
    driver.grab(panel, "docker-workflow.png")
    panel.history.setCurrentRow(0)
    panel.apply_button.click()
    yield 500
    doc.refreshProjection()
    doc.waitForDone()
    driver.result["layers"] = _names(doc)

    # Run it again: Apply updates "Painted" in place; two Undos give back the first result.
    from ai_diffusion.qt import QtGui

    def painted_pixel():
        node = next(n for n in doc.rootNode().childNodes() if n.name() == "Painted")
        b, g, r, a = bytes(node.pixelData(128, 96, 1, 1))
        return [r, g, b, a]

    def result_pixel(index):
        qimage = QtGui.QImage()
        qimage.loadFromData(panel.controller.results[index].image.data)
        colour = qimage.pixelColor(128, 96)
        return [colour.red(), colour.green(), colour.blue(), colour.alpha()]

    driver.result["first_pixel"] = [painted_pixel(), result_pixel(0)]
    page.seed.setValue(page.seed.value() + 1)
    panel.generate_button.click()
    yield (_results(driver, panel, 2), RESULT_WAIT_MS, "the workflow's second result")
    panel.history.setCurrentRow(1)
    panel.apply_button.click()
    yield 500
    doc.refreshProjection()
    doc.waitForDone()
    driver.result["updated"] = {
        "layers": _names(doc),
        "pixel": painted_pixel(),
        "result": result_pixel(1),
        "message": panel.message.text(),
    }
    for _ in range(2):
        app.action("edit_undo").trigger()
        yield 500
    doc.refreshProjection()
    doc.waitForDone()
    driver.result["undone"] = {"layers": _names(doc), "pixel": painted_pixel()}


def regions(driver):
    """Two layers, "Barn" (the left third) and "Sky" (the right third), each a region with a
    prompt of its own: generating changes their areas, each its own way, and not the middle."""
    from ai_diffusion.qt import QtGui

    app = Krita.instance()
    doc = app.createDocument(384, 192, "regions", "RGBA", "U8", "", 72.0)
    for name, x in (("Barn", 0), ("Sky", 256)):
        layer = doc.createNode(name, "paintlayer")
        doc.rootNode().addChildNode(layer, None)
        layer.setPixelData(bytes([30, 60, 90, 255]) * (128 * 192), x, 0, 128, 192)
    doc.refreshProjection()
    panel = yield from connected_panel(driver, doc)
    panel.seed_random.setChecked(False)
    panel.prompt.setPlainText("a farm")
    panel.canvas_changed()

    def row_colours(index):
        qimage = QtGui.QImage()
        qimage.loadFromData(panel.controller.results[index].image.data)
        colours = []
        for x in (64, 192, 320):  # barn, middle, sky
            c = qimage.pixelColor(x, 96)
            colours.append([c.red(), c.green(), c.blue()])
        return colours

    panel.generate_button.click()
    yield (_results(driver, panel, 1), RESULT_WAIT_MS, "the plain result")
    panel.lists.set_open(True)
    box = panel.region_box
    for name, prompt in (("Barn", "a red barn"), ("Sky", "a stormy sky")):
        box.layer.setCurrentIndex(box.layer.findText(name))
        box.add_current().prompt.setText(prompt)
    yield 300
    driver.result["region_rows"] = [row.label.text() for row in box.rows]
    panel.generate_button.click()
    yield (_results(driver, panel, 2), RESULT_WAIT_MS, "the result with regions")
    driver.result["plain"] = row_colours(0)
    driver.result["regional"] = row_colours(1)
    panel.history.setCurrentRow(1)
    panel.controller.show(panel.controller.results[1])  # as when the painter hovers it
    yield 500
    driver.screenshot("krita-regions.png")
    driver.grab(panel, "docker-regions.png")
    doc.setModified(False)


def upscale(driver):
    """Upscale ×2 from the docker: the canvas doubles with the result on top; one Undo takes
    the result away, a second gives back the canvas's size."""
    app = Krita.instance()
    doc = app.createDocument(128, 96, "upscale", "RGBA", "U8", "", 72.0)
    doc.rootNode().childNodes()[0].setPixelData(
        bytes([200, 120, 40, 255]) * (128 * 96), 0, 0, 128, 96
    )
    doc.refreshProjection()
    panel = yield from connected_panel(driver, doc)
    panel.modes.buttons["upscale"].click()
    page = panel.upscale_page
    yield (lambda: page.model.count() > 0, 5000, "the upscale models")
    page.factor.setValue(2.0)
    page.refine.setChecked(False)
    driver.result["size_text"] = page.size.text()
    panel.generate_button.click()
    yield (lambda: doc.width() == 256, RESULT_WAIT_MS, "the upscaled canvas")
    yield 500
    driver.result["after"] = [doc.width(), doc.height(), _names(doc)]
    driver.result["message"] = panel.message.text()
    top = next(n for n in doc.rootNode().childNodes() if n.visible() and n.name() != "Background")
    driver.result["top_pixel"] = list(_pixel(top, 200, 150))
    driver.screenshot("krita-upscale.png")
    driver.grab(panel, "docker-upscale.png")
    undone = []
    for _ in range(2):
        app.action("edit_undo").trigger()
        yield 800
        undone.append([doc.width(), doc.height(), _names(doc)])
    driver.result["undone"] = undone
    doc.setModified(False)


def styles(driver):
    """Pick a shipped style (the server has another SD1.5 model than the style names: that one
    is used, and said), generate with its template; copy it, export the copy, delete it, import
    it back."""
    import tempfile

    app = Krita.instance()
    doc = app.createDocument(128, 96, "styles", "RGBA", "U8", "", 72.0)
    panel = yield from connected_panel(driver, doc)
    picker = panel.style_picker
    picker.box.setCurrentIndex(picker.box.findData("SD1.5 painterly"))
    picker.box.activated.emit(picker.box.currentIndex())  # as a click on the entry does
    yield 300
    driver.result["chosen"] = [picker.box.currentText(), panel.message.text()]
    panel.prompt.setPlainText("a farm")
    panel.generate_button.click()
    yield (_results(driver, panel, 1), RESULT_WAIT_MS, "the styled result")
    result = panel.controller.results[-1]
    driver.result["result"] = [result.prompt, result.style]
    driver.grab(panel, "docker-styles.png")

    folder = tempfile.mkdtemp()
    picker.actions_["copy"].trigger()
    yield 200
    copy = picker.choice.current
    picker.ask_save_path = lambda suggested: os.path.join(folder, suggested)
    picker.actions_["export"].trigger()
    picker.confirm = lambda question: True
    picker.actions_["delete"].trigger()
    yield 200
    driver.result["after_delete"] = copy in picker.choice.names()
    picker.ask_open_path = lambda: os.path.join(folder, f"{copy}.json")
    picker.actions_["import"].trigger()
    yield 200
    driver.result["imported"] = [copy, picker.choice.current, copy in picker.choice.names()]
    driver.result["template_back"] = picker.choice.style.template
    picker.actions_["delete"].trigger()  # leave the profile as it was
    doc.setModified(False)
