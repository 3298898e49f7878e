"""The docker's model section: usable models with their family, incomplete ones greyed with
the missing piece, family defaults that follow the model unless the painter changed them,
Advanced overrides remembered per model, and Edit mode reaching the request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_diffusion.comfy import ServerModels
from ai_diffusion.qt import Qt
from ai_diffusion.request import Mode, ModelKind
from ai_diffusion.secrets import SecretStore
from ai_diffusion.settings import Settings
from ai_diffusion.state.model_choice import ModelChoice
from ai_diffusion.ui.docker_widget import create_docker_widget
from tests.family_fixtures import family_object_info
from tests.widgets.fake_client import FakeConnector
from tests.widgets.fake_document import FakeDocument, FakeDocuments
from tests.widgets.test_docker_flow import WAIT, connect, generate

FLUX = "flux1-dev.safetensors"
KONTEXT = "flux1-kontext-dev.safetensors"
KREA = "krea2_bf16.safetensors"  # ComfyUI 0.26.0+: 0.8.0 lacks its text-encoder type
KREA_REFUSED = "Krea 2 needs ComfyUI 0.26.0 or newer: this server's ComfyUI does not offer"
MYSTERY = "mystery_model.safetensors"


@pytest.fixture
def setup(qtbot, qt_loop, tmp_path: Path):
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
    return widget, documents, connector, requests, tmp_path


def items(widget) -> dict[str, int]:
    box = widget.checkpoint
    return {box.itemText(i): i for i in range(box.count())}


def test_models_are_listed_with_family_and_incomplete_ones_greyed(qtbot, setup) -> None:
    widget, *_ = setup
    connect(qtbot, widget)
    listed = items(widget)
    assert {FLUX, KONTEXT, "z_image_turbo_bf16.safetensors", "sd_xl_base_1.0.safetensors"} <= set(
        listed
    )
    box = widget.checkpoint
    mystery = listed[MYSTERY]
    assert box.itemData(mystery, Qt.ItemDataRole.ForegroundRole) is not None  # greyed
    assert "unknown model family" in box.itemData(mystery, Qt.ItemDataRole.ToolTipRole)
    assert box.itemData(listed[KREA], Qt.ItemDataRole.ForegroundRole) is None  # 0.33.0 runs it
    assert box.itemData(listed[FLUX], Qt.ItemDataRole.ForegroundRole) is None
    assert box.itemData(listed[FLUX], Qt.ItemDataRole.ToolTipRole) == "Flux.1 dev"
    box.setCurrentText(FLUX)
    picker = widget.model_picker
    assert picker.family.text() == "Flux.1 dev · split files"
    assert not picker.missing.isVisibleTo(widget)
    box.setCurrentText(MYSTERY)
    assert picker.missing.isVisibleTo(widget)
    assert "unknown model family" in picker.missing.text()


def test_sampling_follows_the_family_unless_the_painter_changed_it(qtbot, setup) -> None:
    widget, *_ = setup
    connect(qtbot, widget)
    picker = widget.model_picker
    widget.advanced.set_open(True)  # sampling values live under Advanced
    widget.checkpoint.setCurrentText("z_image_turbo_bf16.safetensors")
    assert (picker.steps.value(), picker.cfg.value(), picker.sampler.currentText()) == (
        9,
        1.0,
        "res_multistep",
    )
    assert not picker.guidance.isVisibleTo(widget)
    widget.checkpoint.setCurrentText(FLUX)
    assert (picker.steps.value(), picker.scheduler.currentText()) == (20, "simple")
    assert picker.guidance.isVisibleTo(widget) and picker.guidance.value() == 3.5
    picker.steps.setValue(12)  # the painter's own value stays
    widget.checkpoint.setCurrentText("sd_xl_base_1.0.safetensors")
    assert (picker.steps.value(), picker.cfg.value(), picker.sampler.currentText()) == (
        12,
        6.0,
        "dpmpp_2m",
    )
    qtbot.mouseClick(picker.reset, Qt.MouseButton.LeftButton)
    assert picker.steps.value() == 25


def test_a_model_of_no_known_family_gets_the_defaults_it_is_built_with(qtbot, setup) -> None:
    # The builder takes the fallback family (SD1.5) for such a model; the values shown (and
    # sent) are that family's from the table, not what the previous model left behind.
    widget, _, connector, requests, _ = setup
    connect(qtbot, widget)
    picker = widget.model_picker
    widget.checkpoint.setCurrentText("z_image_turbo_bf16.safetensors")
    assert picker.steps.value() == 9
    widget.checkpoint.setCurrentText(MYSTERY)
    shown = (picker.steps.value(), picker.cfg.value(), picker.sampler.currentText())
    assert shown == (20, 7.0, "euler")
    assert picker.scheduler.currentText() == "normal"


def test_the_request_carries_the_model_pieces_and_guidance(qtbot, setup) -> None:
    widget, _, connector, requests, _ = setup
    connect(qtbot, widget)
    widget.checkpoint.setCurrentText(FLUX)
    widget.model_picker.guidance.setValue(2.5)
    widget.prompt.setPlainText("a fox")
    generate(qtbot, widget, connector, 1)
    request = requests[-1]
    assert (request.checkpoint, request.kind, request.family) == (FLUX, ModelKind.split, "flux-dev")
    assert request.text_encoders == ("clip_l.safetensors", "t5xxl_fp16.safetensors")
    assert (request.vae, request.guidance, request.sampling.cfg) == ("ae.safetensors", 2.5, 1.0)
    graph = connector.clients[-1].enqueued[-1].graph
    assert any(
        n["class_type"] == "FluxGuidance" and n["inputs"]["guidance"] == 2.5 for n in graph.values()
    )


def test_a_model_the_servers_comfyui_cannot_run_is_greyed_with_the_reason(qtbot, setup) -> None:
    widget, _, connector, *_ = setup
    connector.object_info = family_object_info("0.8.0")
    connect(qtbot, widget)
    listed = items(widget)
    box = widget.checkpoint
    assert box.itemData(listed[KREA], Qt.ItemDataRole.ForegroundRole) is not None
    assert KREA_REFUSED in box.itemData(listed[KREA], Qt.ItemDataRole.ToolTipRole)
    assert (
        box.itemData(listed["flux2_dev_fp8mixed.safetensors"], Qt.ItemDataRole.ForegroundRole)
        is None
    )
    box.setCurrentText(KREA)
    assert KREA_REFUSED in widget.model_picker.missing.text()
    widget.prompt.setPlainText("a fox")
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: KREA_REFUSED in widget.message.text(), timeout=WAIT)


def test_the_reason_names_the_version_the_server_reports() -> None:
    choice = ModelChoice()
    stats = {"system": {"comfyui_version": "0.8.0"}}
    choice.set_server_models(ServerModels.parse(family_object_info("0.8.0"), [], stats))
    choice.select("flux-2-klein-4b.safetensors")
    assert choice.missing_text == (
        "Flux.2 Klein 4B needs ComfyUI 0.9.2 or newer; this server runs ComfyUI 0.8.0. "
        "Update ComfyUI on the server (or rent a pod with a current image)."
    )
    choice.select("flux2_dev_fp8mixed.safetensors")
    assert choice.missing_text == ""


def test_advanced_overrides_are_remembered_per_model(qtbot, setup) -> None:
    widget, _, connector, requests, folder = setup
    connect(qtbot, widget)
    picker = widget.model_picker
    widget.checkpoint.setCurrentText(MYSTERY)
    widget.advanced.set_open(True)
    qtbot.mouseClick(picker.advanced, Qt.MouseButton.LeftButton)
    assert picker.section.isVisibleTo(widget)
    picker.arch.setCurrentIndex(picker.arch.findData("chroma"))
    picker.arch.activated.emit(picker.arch.currentIndex())
    assert picker.family.text() == "Chroma · split files" and not picker.missing.isVisibleTo(widget)
    picker.vae.setCurrentText("qwen_image_vae.safetensors")
    picker.vae.activated.emit(picker.vae.currentIndex())
    widget.prompt.setPlainText("a fox")
    generate(qtbot, widget, connector, 1)
    assert (requests[-1].family, requests[-1].vae) == ("chroma", "qwen_image_vae.safetensors")
    saved = json.loads((folder / "settings.json").read_text())["model_overrides"]
    assert saved[MYSTERY] == {
        "family": "chroma",
        "text_encoders": [],
        "vae": "qwen_image_vae.safetensors",
    }
    # Another model has its own (none); coming back shows the remembered choice.
    widget.checkpoint.setCurrentText(FLUX)
    assert picker.arch.currentIndex() == 0 and picker.vae.currentText() == "(automatic)"
    widget.checkpoint.setCurrentText(MYSTERY)
    assert (
        picker.arch.currentData() == "chroma"
        and picker.vae.currentText() == "qwen_image_vae.safetensors"
    )
    assert Settings.load(folder).model_overrides[MYSTERY]["family"] == "chroma"


def test_edit_mode_only_for_edit_models_and_it_reaches_the_request(qtbot, setup) -> None:
    widget, documents, connector, requests, _ = setup
    connect(qtbot, widget)
    picker = widget.model_picker
    widget.checkpoint.setCurrentText(FLUX)
    assert not picker.edit.isEnabled()
    widget.checkpoint.setCurrentText(KONTEXT)
    assert picker.edit.isEnabled()
    qtbot.mouseClick(widget.modes.buttons["edit"], Qt.MouseButton.LeftButton)  # the Edit mode
    assert picker.edit.isChecked() and picker.edit.isVisibleTo(widget)
    widget.prompt.setPlainText("make the sky stormy")
    generate(qtbot, widget, connector, 1)
    request = requests[-1]
    assert request.edit and request.mode is Mode.edit and request.image is not None
    assert request.image.extent == documents.active().extent()
    widget.checkpoint.setCurrentText(FLUX)  # not an edit model: Edit switches off
    assert not picker.edit.isChecked()
    qtbot.mouseClick(widget.modes.buttons["generate"], Qt.MouseButton.LeftButton)
    widget.checkpoint.setCurrentText(KONTEXT)
    assert not picker.edit.isChecked()  # Generate mode: no instruction edit


def test_reference_layers_for_edit_models_that_take_them(qtbot, setup) -> None:
    widget, documents, connector, requests, _ = setup
    connect(qtbot, widget)
    picker = widget.model_picker
    widget.checkpoint.setCurrentText("qwen_image_edit_2509_fp8_e4m3fn.safetensors")
    assert not picker.references.isVisibleTo(widget)  # Edit is off
    qtbot.mouseClick(widget.modes.buttons["edit"], Qt.MouseButton.LeftButton)
    assert picker.references.isVisibleTo(widget)
    assert [picker.references.item(i).text() for i in range(picker.references.count())] == [
        "Sketch"
    ]
    picker.references.item(0).setCheckState(Qt.CheckState.Checked)
    widget.prompt.setPlainText("put the sketch's cat on the sofa")
    generate(qtbot, widget, connector, 1)
    request = requests[-1]
    canvas = documents.active().extent()
    assert len(request.references) == 1 and request.references[0].extent == canvas
    graph = connector.clients[-1].enqueued[-1].graph
    plus = [n for n in graph.values() if n["class_type"] == "TextEncodeQwenImageEditPlus"]
    assert "image2" in plus[0]["inputs"]
    widget.checkpoint.setCurrentText("qwen_image_edit_fp8_e4m3fn.safetensors")  # takes none
    picker.edit.setChecked(True)
    assert not picker.references.isVisibleTo(widget) and picker.reference_layers() == []
