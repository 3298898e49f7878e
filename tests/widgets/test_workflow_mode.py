"""The docker's Workflow mode against the fake ComfyUI with a real client: a workflow of the
painter's own with an image input and two ``[param]`` widgets runs on the canvas through the
controller's queue; a workflow the server cannot run says why in one sentence and queues
nothing; the painter's values are remembered per workflow, and Reset forgets them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_diffusion import eventloop
from ai_diffusion.qt import Qt, QtWidgets
from ai_diffusion.request import Bounds
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state.workflow_mode import VALUES_FILE
from ai_diffusion.ui.docker_widget import create_docker_widget
from ai_diffusion.ui.workflow_page import control_name
from tests.comfy_fixtures import CHECKPOINT, start_server
from tests.widgets.fake_document import FakeDocument, FakeDocuments

WAIT = 20000


def run(qtbot, coro):
    task = eventloop.run(coro)
    qtbot.waitUntil(task.done, timeout=WAIT)
    return task.result()


def graph() -> dict:
    """img2img on the canvas; the sampler's steps and cfg are marked for Krita."""
    return {
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 5,
                "steps": 2,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 0.75,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["13", 0],
            },
            "_meta": {"title": "Sampler [param: steps, cfg]"},
        },
        "4": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": CHECKPOINT},
            "_meta": {"title": "Load Checkpoint"},
        },
        "6": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a cat", "clip": ["4", 1]},
            "_meta": {"title": "Prompt"},
        },
        "7": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "blurry", "clip": ["4", 1]},
            "_meta": {"title": "Negative"},
        },
        "8": {
            "class_type": "VAEDecode",
            "inputs": {"samples": ["3", 0], "vae": ["4", 2]},
            "_meta": {"title": "VAE Decode"},
        },
        "9": {
            "class_type": "SaveImage",
            "inputs": {"filename_prefix": "wf", "images": ["8", 0]},
            "_meta": {"title": "[layer: Painted]"},
        },
        "11": {
            "class_type": "LoadImage",
            "inputs": {"image": "example.png"},
            "_meta": {"title": "Canvas"},
        },
        "13": {
            "class_type": "VAEEncode",
            "inputs": {"pixels": ["11", 0], "vae": ["4", 2]},
            "_meta": {"title": "VAE Encode"},
        },
    }


@pytest.fixture
def served(qtbot, qt_loop):
    server = run(qtbot, start_server())
    yield server
    run(qtbot, server.runner.cleanup())


def make_docker(qtbot, tmp_path: Path, server, document: FakeDocument):
    widget = create_docker_widget(
        None, FakeDocuments([document]), tmp_path / "settings", SecretStore(use_system=False)
    )
    widget.resize(300, 900)  # closed by close_docker (after its client), not by qtbot
    widget.show()
    widget.url.setText(server.url)
    qtbot.mouseClick(widget.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.controller.state == "connected", timeout=WAIT)
    qtbot.mouseClick(widget.modes.buttons["workflow"], Qt.MouseButton.LeftButton)
    assert widget.modes.mode == "workflow" and widget.workflow_page.isVisible()
    return widget


@pytest.fixture
def docker(qtbot, served, tmp_path: Path):
    document = FakeDocument()
    widget = make_docker(qtbot, tmp_path, served, document)
    yield widget, document
    close_docker(qtbot, widget)


def close_docker(qtbot, widget) -> None:
    widget.controller.disconnect_server()
    qtbot.waitUntil(lambda: widget.controller.client is None, timeout=WAIT)
    qtbot.wait(50)
    widget.close()
    widget.deleteLater()


def write(tmp_path: Path, data: dict, name: str = "img2img.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def control(widget, key: str):
    return widget.workflow_page.findChild(QtWidgets.QWidget, control_name(key))


def test_parameters_become_controls_and_the_canvas_runs_through_the_queue(
    qtbot, docker, served, tmp_path: Path
) -> None:
    widget, document = docker
    fake = served.fake
    widget.workflow.open_file(write(tmp_path, graph()))
    assert widget.workflow.problem == "" and not widget.workflow_page.problem.isVisible()
    steps, cfg = control(widget, "3.steps"), control(widget, "3.cfg")
    assert isinstance(steps, QtWidgets.QSpinBox) and isinstance(cfg, QtWidgets.QDoubleSpinBox)
    spec_steps = fake.object_info["KSampler"]["input"]["required"]["steps"][1]
    spec_cfg = fake.object_info["KSampler"]["input"]["required"]["cfg"][1]
    assert (steps.minimum(), steps.maximum(), steps.value()) == (
        spec_steps["min"],
        spec_steps["max"],
        2,
    )
    assert (cfg.minimum(), cfg.maximum(), cfg.value()) == (spec_cfg["min"], spec_cfg["max"], 7.0)
    assert steps.isVisible() and cfg.isVisible()
    steps.setValue(3)
    widget.prompt.setPlainText("a fox in the snow")
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.history.count() == 1, timeout=WAIT)
    sent = fake.posted[0]["prompt"]
    assert sent["3"]["inputs"]["steps"] == 3 and sent["3"]["inputs"]["cfg"] == 7.0
    assert sent["6"]["inputs"]["text"] == "a fox in the snow"
    assert sent["7"]["inputs"]["text"] == "blurry"  # the workflow's own negative
    uploaded = sent["11"]["inputs"]["image"]
    assert fake.inputs[uploaded] == document.read_image(Bounds(0, 0, 256, 192)).data
    assert sent["3"]["inputs"]["seed"] == widget.workflow_page.seed.value()
    result = widget.controller.results[-1]
    assert result.name == "Painted"  # the output node's [layer: Painted]
    widget.history.setCurrentRow(0)
    qtbot.mouseClick(widget.apply_button, Qt.MouseButton.LeftButton)
    name, bounds, image = document.layers_added[0]
    assert name == "Painted" and bounds == Bounds(0, 0, 256, 192)
    assert (image.width, image.height) == (256, 192)


def test_running_again_updates_the_layer_its_output_names(
    qtbot, docker, served, tmp_path: Path
) -> None:
    """The first Apply makes the layer "Painted"; the next run's Apply updates that layer
    instead of piling up copies, and a result of the built-in modes is still a new layer."""
    widget, document = docker
    widget.workflow.open_file(write(tmp_path, graph()))
    widget.prompt.setPlainText("a fox")
    for run in (1, 2):
        qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda run=run: widget.history.count() == run, timeout=WAIT)
        widget.history.setCurrentRow(run - 1)
        qtbot.mouseClick(widget.apply_button, Qt.MouseButton.LeftButton)
    assert [name for name, _, _ in document.layers_added] == ["Painted"]
    painted = next(layer.id for layer in document.layers() if layer.name == "Painted")
    [(layer_id, bounds, image)] = document.layers_updated
    assert layer_id == painted and bounds == Bounds(0, 0, 256, 192)
    assert image == widget.controller.results[1].image  # the second run's pixels
    assert "Updated layer 'Painted'" in widget.message.text()


def test_a_missing_custom_node_is_one_sentence_and_queues_nothing(
    qtbot, docker, served, tmp_path: Path
) -> None:
    widget, _ = docker
    data = graph()
    data["20"] = {
        "class_type": "ImpactWildcardProcessor",
        "inputs": {"wildcard_text": "x"},
        "_meta": {"title": "Wildcards"},
    }
    data["6"]["inputs"]["text"] = ["20", 0]
    widget.workflow.open_file(write(tmp_path, data, "needs-impact.json"))
    problem = widget.workflow.problem
    assert "custom node ImpactWildcardProcessor" in problem and "\n" not in problem
    assert widget.workflow_page.problem.isVisible()
    assert widget.workflow_page.problem.text() == problem
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.wait(200)
    assert served.fake.posted == [] and not widget.controller.jobs
    assert widget.message.text() == problem


def test_values_are_remembered_per_workflow_and_reset_forgets_them(
    qtbot, docker, served, tmp_path: Path
) -> None:
    widget, document = docker
    path = write(tmp_path, graph())
    other = write(tmp_path, graph(), "other.json")
    widget.workflow.open_file(path)
    control(widget, "3.steps").setValue(4)
    control(widget, "3.cfg").setValue(5.5)
    widget.workflow_page.negative.setPlainText("ugly")
    widget.workflow.open_file(other)  # another workflow: its own values
    assert control(widget, "3.steps").value() == 2
    widget.workflow.open_file(path)
    assert control(widget, "3.steps").value() == 4 and control(widget, "3.cfg").value() == 5.5
    assert widget.workflow_page.negative.toPlainText() == "ugly"
    stored = json.loads((tmp_path / "settings" / VALUES_FILE).read_text())
    assert stored[f"file:{path.resolve()}"]["values"]["parameters"] == {
        "3.steps": 4,
        "3.cfg": 5.5,
    }
    # Krita starts again: the values come back from the file.
    again = make_docker(qtbot, tmp_path, served, document)
    again.workflow.open_file(path)
    assert control(again, "3.steps").value() == 4
    qtbot.mouseClick(again.workflow_page.reset, Qt.MouseButton.LeftButton)
    assert control(again, "3.steps").value() == 2 and control(again, "3.cfg").value() == 7.0
    assert again.workflow_page.negative.toPlainText() == ""
    stored = json.loads((tmp_path / "settings" / VALUES_FILE).read_text())
    assert f"file:{path.resolve()}" not in stored
    close_docker(qtbot, again)


def test_generate_in_workflow_mode_without_a_workflow_says_what_to_do(qtbot, docker) -> None:
    widget, _ = docker
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    assert "Choose a workflow first" in widget.message.text()
