"""Cloud GPU in real Krita, against the RunPod and vast.ai stand-ins (tests/fakes/), which the
plugin reaches through AI_DIFFUSION_RUNPOD_API, AI_DIFFUSION_RUNPOD_PROXY and
AI_DIFFUSION_VAST_API: rent a pod from the docker, let it connect, generate on it, terminate
it; the question when Krita closes with a pod running; the offer at start about pods an
earlier session left running.

Dialogs are answered as a painter would, by clicking a button; each answered dialog is
appended to ``dialogs.jsonl`` in the output folder (the exit question comes after the driver
wrote its result)."""

import json
import os

from krita import Krita

from ai_diffusion.qt import QTimer, QtWidgets

DOCKER_ID = "ai_diffusion_docker"
CHECKPOINT = "random-sd15-tiny.safetensors"
OUT = os.environ.get("AI_DIFFUSION_TEST_OUTPUT", ".")
_answerers = []  # keeps the polling timers alive


def answer_dialog(title, button_text):
    """From now on, poll for a message box titled ``title``; when it shows, record its text
    and buttons in dialogs.jsonl and click the button labelled ``button_text``."""
    timer = QTimer()
    timer.setInterval(100)

    def poll():
        for widget in QtWidgets.QApplication.topLevelWidgets():
            if not isinstance(widget, QtWidgets.QMessageBox) or not widget.isVisible():
                continue
            if widget.windowTitle() != title:
                continue
            buttons = {b.text().replace("&", ""): b for b in widget.buttons()}
            with open(os.path.join(OUT, "dialogs.jsonl"), "a") as f:
                record = {"title": title, "text": widget.text(), "buttons": sorted(buttons)}
                f.write(json.dumps(record) + "\n")
            timer.stop()
            clicked = buttons.get(button_text)
            if clicked is None:  # say so in the record, and do not leave Krita hanging
                with open(os.path.join(OUT, "dialogs.jsonl"), "a") as f:
                    f.write(json.dumps({"title": title, "missing": button_text}) + "\n")
                widget.reject()
                return
            clicked.click()
            return

    timer.timeout.connect(poll)
    timer.start()
    _answerers.append(timer)
    return timer


def _docker(driver):
    app = Krita.instance()
    doc = app.createDocument(128, 96, "cloud", "RGBA", "U8", "", 72.0)
    app.activeWindow().addView(doc)
    app.setActiveDocument(doc)
    for dock in driver.qwindow.findChildren(QtWidgets.QDockWidget):
        if dock.objectName() not in (DOCKER_ID, "KisLayerBox"):
            dock.hide()
    yield (lambda: driver.docker(DOCKER_ID) is not None, 20000, "the AI docker")
    dock = driver.docker(DOCKER_ID)
    dock.show()
    content = dock.findChild(QtWidgets.QWidget, "ai_diffusion_content")
    yield (lambda: content is not None, 5000, "the docker content")
    driver.content = content
    if not content.cloud_toggle.isChecked():
        content.cloud_toggle.click()  # opens the Cloud GPU section


def _rent(driver, provider):
    """Type the key (no Save key), find GPUs, create, wait for the auto-connect."""
    content = driver.content
    panel = content.pod_panel
    panel.provider.setCurrentIndex(panel.provider.findData(provider))
    panel.key.setText(os.environ[f"AI_DIFFUSION_TEST_{provider.upper()}_KEY"])
    panel.gpu.clear()
    url_before = content.url.text()
    panel.find.click()
    yield (lambda: panel.gpu.count() > 0, 20000, f"{provider}: GPUs ({panel.message.text()})")
    driver.result[f"{provider}_gpus"] = [panel.gpu.itemText(i) for i in range(panel.gpu.count())]
    panel.create.click()
    yield (
        lambda: (
            content.controller.state == "connected"
            and content.url.text() != url_before
            and panel.states.count() > 0
            and panel.states.item(panel.states.count() - 1).text() == "ready"
        ),
        60000,
        f"{provider}: the pod to be ready and the docker connected ({panel.message.text()})",
    )
    driver.result[f"{provider}_status"] = content.status.text()
    driver.result[f"{provider}_url"] = content.url.text()
    driver.result[f"{provider}_bar"] = panel.bar.text()
    driver.result[f"{provider}_states"] = [
        panel.states.item(i).text() for i in range(panel.states.count())
    ]
    yield (
        lambda: content.checkpoint.findText(CHECKPOINT) >= 0,
        20000,
        f"{provider}: the pod's models in the docker",
    )


def _generate(driver, provider):
    content = driver.content
    before = content.history.count()
    content.checkpoint.setCurrentText(CHECKPOINT)
    content.prompt.setPlainText(f"a lighthouse on a {provider} pod")
    content.model_picker.steps.setValue(3)
    content.generate_button.click()

    def done():
        driver.result[f"{provider}_seen"] = {
            "history": content.history.count(),
            "message": content.message.text(),
            "state": content.controller.state,
            "status": content.status.text(),
        }
        return content.history.count() == before + 1

    yield (done, 60000, f"{provider}: a result (last seen in {provider}_seen)")
    driver.result[f"{provider}_results"] = content.history.count() - before


def _terminate(driver, provider):
    panel = driver.content.pod_panel
    answer_dialog("Terminate pod", "Yes")
    yield 50
    panel.terminate.click()  # the question is modal; answer_dialog clicks Yes
    yield (
        lambda: panel.pods.pod is None,
        20000,
        f"{provider}: the pod to be terminated ({panel.message.text()})",
    )
    driver.result[f"{provider}_after_terminate"] = panel.message.text()
    content = driver.content
    yield (
        lambda: content.controller.state == "disconnected",
        10000,
        f"{provider}: the docker to let go of the ended pod ({content.status.text()})",
    )
    driver.result[f"{provider}_status_after_terminate"] = content.status.text()


def rent_generate_terminate(driver):
    """RunPod, then vast.ai: a typed key rents a pod, the docker connects to it, one image is
    generated on it (its progress comes through the pod's websocket), and Terminate (with its
    question answered Yes) ends it."""
    yield from _docker(driver)
    for provider in ("runpod", "vast"):
        yield from _rent(driver, provider)
        yield from _generate(driver, provider)
        yield from _terminate(driver, provider)
    driver.screenshot("krita-cloud-terminated.png")


def exit_with_a_pod_running(driver):
    """Rent a RunPod pod, save the key, then quit Krita with the pod running: the question is
    answered "Stop it"."""
    yield from _docker(driver)
    yield from _rent(driver, "runpod")
    panel = driver.content.pod_panel
    panel.save_key.click()
    driver.result["save_message"] = panel.message.text()
    driver.result["pod_id"] = panel.pods.pod.id
    answer_dialog("A cloud GPU is still running", "Stop it")
    driver.screenshot("krita-cloud-before-exit.png")


def orphan_offer_at_start(driver):
    """A krita-* pod is left running and the key is saved: at start the plugin offers it;
    "Use the first one" connects the docker to it. Quitting then asks again: "Terminate it"."""
    answer_dialog("Cloud GPUs still running", "Use the first one")
    yield from _docker(driver)
    content = driver.content
    yield (
        lambda: content.controller.state == "connected",
        60000,
        f"the docker to connect to the left pod ({content.pod_panel.message.text()})",
    )
    driver.result["status"] = content.status.text()
    driver.result["url"] = content.url.text()
    driver.result["bar"] = content.pod_panel.bar.text()
    answer_dialog("A cloud GPU is still running", "Terminate it")


def rent_add_lora_generate(driver):
    """RunPod: rent a pod (the stand-in runs the pod gateway in front of ComfyUI, with the token
    the plugin made), open "Add models", paste a LoRA's link, see the LoRA among the choices,
    generate with it, then terminate the pod."""
    yield from _docker(driver)
    yield from _rent(driver, "runpod")
    content = driver.content
    section = content.connection_section
    if not section.panel.isVisible():
        section.line.click()  # connected: the panel opens from the line
    panel = section.panel
    if panel.cloud_toggle.isChecked():
        panel.cloud_toggle.click()  # room for the models panel (opened again to terminate)
    if not panel.models_toggle.isChecked():
        panel.models_toggle.click()
    transfers = content.session.model_transfers
    yield (
        lambda: transfers.gateway in ("yes", "no"),
        20000,
        f"the pod's gateway to be asked ({transfers.gateway})",
    )
    driver.result["gateway"] = transfers.gateway
    models = panel.models_panel
    url = os.environ["AI_DIFFUSION_TEST_LORA_URL"]
    name = url.split("?")[0].rsplit("/", 1)[1]
    models.url.setText(url)
    driver.result["guessed_folder"] = models.folder.currentData()
    models.download.click()
    yield (
        lambda: transfers.transfers and transfers.transfers[-1].ended,
        60000,
        f"the download ({models.message.text()})",
    )
    driver.result["transfer"] = transfers.transfers[-1].line()
    yield (
        lambda: content.lora_box.pick.findText(name) >= 0,
        20000,
        f"the LoRA among the choices ({models.message.text()})",
    )
    driver.result["lora_offered"] = True
    driver.screenshot("krita-cloud-lora-added.png")
    dock = driver.docker(DOCKER_ID)
    dock.grab().save(os.path.join(OUT, "krita-cloud-lora-added-docker.png"))
    content.lora_box.pick.setCurrentText(name)
    content.lora_box.add.click()
    driver.result["loras"] = [lora.name for lora in content.lora_box.loras()]
    yield from _generate(driver, "runpod")
    panel.models_toggle.click()
    panel.cloud_toggle.click()
    yield from _terminate(driver, "runpod")
