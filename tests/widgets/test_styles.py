"""Styles in the docker: one click on a style sets model, LoRAs, negative prompt, sampling
and size, and the request sent wraps the prompt in its template; a style whose LoRA or model
the server lacks says which and applies the rest; a style exported and imported again comes
back the same; a style made from the current settings holds them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_diffusion.comfy.events import Finished
from ai_diffusion.qt import QtCore, QtWidgets
from ai_diffusion.request import LoraRef, Resolution
from ai_diffusion.secrets import SecretStore
from ai_diffusion.settings import Settings
from ai_diffusion.state.styles import Style, StyleModel, StyleSampling, StyleStore
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.family_fixtures import family_object_info
from tests.widgets.fake_client import CHECKPOINT, FakeConnector
from tests.widgets.fake_document import FakeDocument, FakeDocuments
from tests.widgets.test_docker_flow import WAIT, connect, generate, png

FLUX = "flux1-dev.safetensors"
DETAILER = "flux-detailer.safetensors"  # a LoRA the fake server lists
FLUX_PHOTO = Style(
    "Flux photo mine",
    StyleModel(FLUX),
    loras=(LoraRef(DETAILER, 0.7),),
    template="{prompt}, 35mm photo",
    negative="",
    sampling=StyleSampling(steps=12, sampler="euler", scheduler="beta"),
    resolution=Resolution(scale=0.75),
)
WATERCOLOUR = Style(
    "Watercolour",
    StyleModel(CHECKPOINT),
    template="watercolour, soft edges",  # no {prompt}: added after the prompt
    negative="photo, harsh lines",
    sampling=StyleSampling(cfg=5.0),
)


@pytest.fixture
def setup(qtbot, qt_loop, tmp_path: Path):
    store = StyleStore(tmp_path / "styles")
    for style in (FLUX_PHOTO, WATERCOLOUR):
        store.add(style)
    documents = FakeDocuments([FakeDocument()])
    connector = FakeConnector()
    connector.object_info = family_object_info()
    widget = create_docker_widget(None, documents, tmp_path, SecretStore(use_system=False), connector)  # fmt: skip
    qtbot.addWidget(widget)
    widget.resize(300, 900)
    widget.show()
    requests: list = []
    build = widget.controller.build_request

    def recording(document, params):
        request, bounds = build(document, params)
        requests.append(request)
        return request, bounds

    widget.controller.build_request = recording
    return widget, connector, requests, tmp_path


def click_style(widget, name: str) -> None:
    """One click in the style list, as the painter picks an entry of the open combo."""
    box = widget.style_picker.box
    index = box.findText(name)
    assert index >= 0, [box.itemText(i) for i in range(box.count())]
    box.setCurrentIndex(index)
    box.activated.emit(index)


def loras(widget) -> list[tuple[str, float]]:
    return [(lora.name, round(lora.strength, 2)) for lora in widget.lora_box.loras()]


def test_switching_styles_changes_what_is_sent(qtbot, setup) -> None:
    widget, connector, requests, _ = setup
    connect(qtbot, widget)
    widget.prompt.setPlainText("a fox in the snow")

    click_style(widget, "Flux photo mine")
    assert widget.message.text() == "Style 'Flux photo mine' applied."
    assert widget.checkpoint.currentText() == FLUX
    assert loras(widget) == [(DETAILER, 0.7)]
    job = generate(qtbot, widget, connector, 1)
    sent = requests[-1]
    assert sent.checkpoint == FLUX and sent.family == "flux-dev"
    assert sent.loras == (LoraRef(DETAILER, 0.7),)
    assert sent.prompt == "a fox in the snow, 35mm photo"
    assert (sent.sampling.steps, sent.sampling.sampler, sent.sampling.scheduler) == (
        12,
        "euler",
        "beta",
    )
    assert sent.resolution == Resolution(scale=0.75)
    assert widget.prompt.toPlainText() == "a fox in the snow"  # the painter's own words stay
    # The result says which style made it.
    connector.clients[-1].push(Finished(job, [png(256, 192)]))
    qtbot.waitUntil(lambda: widget.history.count() == 1, timeout=WAIT)
    assert widget.controller.history()[-1].style == "Flux photo mine"

    click_style(widget, "Watercolour")
    assert widget.checkpoint.currentText() == CHECKPOINT
    assert loras(widget) == [] and widget.negative.toPlainText() == "photo, harsh lines"
    generate(qtbot, widget, connector, 2)
    sent = requests[-1]
    assert sent.checkpoint == CHECKPOINT and sent.loras == ()
    assert sent.prompt == "a fox in the snow, watercolour, soft edges"
    assert sent.negative_prompt == "photo, harsh lines"
    # The style's CFG; the rest are SD1.5's defaults again (not the last style's 12 steps).
    assert (sent.sampling.cfg, sent.sampling.steps, sent.sampling.sampler) == (5.0, 20, "euler")
    assert sent.resolution == Resolution()

    click_style(widget, "No style")
    generate(qtbot, widget, connector, 3)
    assert requests[-1].prompt == "a fox in the snow"
    assert requests[-1].checkpoint == CHECKPOINT  # nothing else changed


def test_the_chosen_style_is_remembered(qtbot, setup) -> None:
    widget, _, _, tmp_path = setup
    click_style(widget, "Watercolour")
    widget.save_settings()
    assert Settings.load(tmp_path).style == "Watercolour"
    again = create_docker_widget(None, FakeDocuments([FakeDocument()]), tmp_path, SecretStore(use_system=False))  # fmt: skip
    qtbot.addWidget(again)
    assert again.style_picker.box.currentText() == "Watercolour"
    again.prompt.setPlainText("a cat")
    assert again.params().prompt == "a cat, watercolour, soft edges"


def test_a_missing_lora_is_named_and_the_rest_applies(qtbot, setup) -> None:
    widget, connector, requests, _ = setup
    store = widget.styles.store
    store.add(
        Style(
            "Half there",
            StyleModel(FLUX),
            loras=(LoraRef("gone-lora.safetensors", 0.8), LoraRef(DETAILER, 0.5)),
            template="{prompt}, golden hour",
            sampling=StyleSampling(steps=9),
        )
    )
    widget.styles.styles_changed.emit()
    connect(qtbot, widget)
    widget.prompt.setPlainText("a barn")
    click_style(widget, "Half there")
    message = widget.message.text()
    assert "'gone-lora.safetensors'" in message and DETAILER not in message
    assert "\n" not in message and "Everything else was applied" in message
    assert loras(widget) == [(DETAILER, 0.5)]
    generate(qtbot, widget, connector, 1)
    sent = requests[-1]
    assert sent.checkpoint == FLUX and sent.loras == (LoraRef(DETAILER, 0.5),)
    assert sent.prompt == "a barn, golden hour" and sent.sampling.steps == 9


def test_a_missing_model_is_named_and_another_of_its_family_used(qtbot, setup) -> None:
    widget, connector, requests, _ = setup
    widget.styles.store.add(Style("Other flux", StyleModel("flux1-dev-Q8.safetensors")))
    widget.styles.store.add(Style("Nowhere", StyleModel("my-own-model.ckpt"), template="x"))
    widget.styles.styles_changed.emit()
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(CHECKPOINT)
    click_style(widget, "Other flux")
    message = widget.message.text()
    assert "'flux1-dev-Q8.safetensors'" in message and "using '" in message
    assert widget.model_choice.family.id == "flux-dev"
    widget.checkpoint.setCurrentText(CHECKPOINT)
    click_style(widget, "Nowhere")
    assert "'my-own-model.ckpt' (kept 'random-sd15-tiny.safetensors')" in widget.message.text()
    widget.prompt.setPlainText("a boat")
    generate(qtbot, widget, connector, 1)
    assert requests[-1].checkpoint == CHECKPOINT and requests[-1].prompt == "a boat, x"


def test_export_then_import_gives_the_same_style_back(qtbot, setup) -> None:
    widget, _, _, tmp_path = setup
    picker = widget.style_picker
    click_style(widget, "Flux photo mine")
    target = tmp_path / "exported" / "flux-photo"
    target.parent.mkdir()
    picker.ask_save_path = lambda suggested: str(target)
    picker.actions_["export"].trigger()
    exported = target.with_name("flux-photo.json")
    assert "exported" in widget.message.text() and exported.is_file()
    assert json.loads(exported.read_text())["name"] == "Flux photo mine"

    picker.confirm = lambda question: True
    picker.actions_["delete"].trigger()
    assert picker.box.findText("Flux photo mine") < 0
    assert picker.box.currentText() == "No style"

    picker.ask_open_path = lambda: str(exported)
    picker.actions_["import"].trigger()
    assert widget.styles.store.get("Flux photo mine") == FLUX_PHOTO
    assert picker.box.currentText() == "Flux photo mine"  # chosen and applied
    assert loras(widget) == [(DETAILER, 0.7)]
    # Imported again: a second one beside it.
    picker.actions_["import"].trigger()
    assert picker.box.currentText() == "Flux photo mine (2)"
    assert (
        StyleStore(tmp_path / "styles").get("Flux photo mine (2)").template == FLUX_PHOTO.template
    )


def test_a_bad_file_to_import_is_said_in_one_line(qtbot, setup) -> None:
    widget, _, _, tmp_path = setup
    bad = tmp_path / "workflow.json"
    bad.write_text(json.dumps({"3": {"class_type": "KSampler"}}))
    count = widget.style_picker.box.count()
    widget.style_picker.ask_open_path = lambda: str(bad)
    widget.style_picker.actions_["import"].trigger()
    assert "'workflow.json' can't be used: it is not a style file" in widget.message.text()
    assert widget.style_picker.box.count() == count


def test_a_new_style_holds_the_current_settings(qtbot, setup) -> None:
    widget, connector, _, tmp_path = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(FLUX)
    widget.lora_box.pick.setCurrentText(DETAILER)
    widget.lora_box.strength.setValue(0.6)
    widget.lora_box.add_current()
    widget.negative.setPlainText("blurry")
    widget.model_picker.steps.setValue(7)
    widget.style_picker.actions_["new"].trigger()
    dialog = widget.style_picker.dialog
    dialog.name.setText("Night")
    dialog.template.setPlainText("{prompt}, at night")
    dialog.accept()
    style = StyleStore(tmp_path / "styles").get("Night")
    assert style is not None
    assert style.model.file == FLUX and style.loras == (LoraRef(DETAILER, 0.6),)
    assert style.negative == "blurry" and style.template == "{prompt}, at night"
    assert style.sampling.values() == {"steps": 7}  # the others stay the family's
    assert widget.style_picker.box.currentText() == "Night"


def test_shipped_styles_cannot_be_deleted_and_edit_makes_a_copy(qtbot, setup) -> None:
    widget, *_ = setup
    picker = widget.style_picker
    click_style(widget, "SDXL illustration")
    assert not picker.actions_["delete"].isEnabled()
    dialog = picker.edit_style()
    assert dialog.name.text() == "SDXL illustration (copy)"
    dialog.negative.setPlainText("sketchy")
    dialog.accept()
    assert picker.box.currentText() == "SDXL illustration (copy)"
    assert widget.styles.store.get("SDXL illustration (copy)").negative == "sketchy"
    assert widget.styles.store.get("SDXL illustration").negative != "sketchy"
    assert picker.actions_["delete"].isEnabled()


def test_the_picker_sits_on_top_and_fits_the_narrow_docker(qtbot, setup) -> None:
    widget, *_ = setup
    click_style(widget, "Flux photo mine")  # a long name does not widen it
    picker = widget.style_picker
    # Narrower than the docker's other rows: it never makes the docker wider.
    assert picker.minimumSizeHint().width() <= 200
    scroll = QtWidgets.QScrollArea()  # as the plugin wraps the content in the dock
    qtbot.addWidget(scroll)
    scroll.setWidgetResizable(True)
    scroll.setWidget(widget)
    scroll.resize(300, 600)
    scroll.show()
    qtbot.waitExposed(scroll)
    qtbot.waitUntil(lambda: widget.width() == scroll.viewport().width(), timeout=WAIT)
    button = picker.menu_button
    right = button.mapTo(widget, QtCore.QPoint(button.width(), 0)).x()
    assert button.isVisible() and right <= scroll.viewport().width()
    # On the model's row, at the top: the painting loop below keeps its room.
    models = widget.model_picker.models
    top = picker.mapTo(widget, QtCore.QPoint(0, 0)).y()
    assert abs(top - models.mapTo(widget, QtCore.QPoint(0, 0)).y()) <= 4
    assert (
        picker.mapTo(widget, QtCore.QPoint(0, 0)).x()
        > models.mapTo(widget, QtCore.QPoint(0, 0)).x()
    )
    assert top < widget.prompt.mapTo(widget, QtCore.QPoint(0, 0)).y()
    scroll.takeWidget()
