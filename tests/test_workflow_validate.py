"""The graph validator: every kind of violation is caught and listed, known-good graphs pass."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ai_diffusion.errors import UserError
from ai_diffusion.workflow import WorkflowInvalid, validate_graph, validate_structure
from tests.captures import VERSIONS, capture
from tests.comfy_capture import INPUT_NAME
from tests.comfy_fixtures import object_info

RAN = [(v, name) for v in VERSIONS for name in capture(v).graphs]
INFO = object_info()


def uploads(graph: dict[str, Any]) -> set[str]:
    return {
        n["inputs"]["image"]
        for n in graph.values()
        if n["class_type"] in ("LoadImage", "LoadImageMask")
    }


@pytest.mark.parametrize(("version", "name"), RAN)
def test_graphs_a_real_comfyui_ran_are_valid(version: str, name: str) -> None:
    graph = capture(version).graphs[name]
    validate_graph(graph, object_info(version), uploaded=uploads(graph))
    validate_structure(graph)


def base() -> dict[str, Any]:
    return copy.deepcopy(capture().graphs["txt2img"])


def node_of(graph: dict[str, Any], class_type: str) -> dict[str, Any]:
    return next(n for n in graph.values() if n["class_type"] == class_type)


def problems(graph: dict[str, Any], uploaded: set[str] | None = None) -> list[str]:
    with pytest.raises(WorkflowInvalid) as error:
        validate_graph(graph, INFO, uploaded=uploaded or set())
    assert isinstance(error.value, UserError)
    assert "This is a bug in the plugin" in error.value.message
    for p in error.value.problems:
        assert p in error.value.message
    return error.value.problems


def test_base_graph_is_valid() -> None:
    validate_graph(base(), INFO)


def test_unknown_class() -> None:
    g = base()
    node_of(g, "KSampler")["class_type"] = "KSamplerTurbo"
    assert any("no node class 'KSamplerTurbo'" in p for p in problems(g))


def test_missing_required_input() -> None:
    g = base()
    del node_of(g, "KSampler")["inputs"]["steps"]
    assert any("required input 'steps' is missing" in p for p in problems(g))


def test_combo_value_not_in_list() -> None:
    g = base()
    node_of(g, "CheckpointLoaderSimple")["inputs"]["ckpt_name"] = "nope.safetensors"
    (p,) = problems(g)
    assert "'nope.safetensors', not one of: random-sd15-tiny.safetensors" in p


def test_upload_combos_accept_the_workflow_s_own_inputs_only() -> None:
    g = base()
    g["50"] = {"class_type": "LoadImage", "inputs": {"image": "aid-0123.png"}}
    g["51"] = {"class_type": "LoadImageMask", "inputs": {"image": "aid-4567.png", "channel": "red"}}
    found = problems(g, {"aid-0123.png"})
    assert len(found) == 1 and "'aid-4567.png', which was neither uploaded" in found[0]
    validate_graph(g, INFO, uploaded={"aid-0123.png", "aid-4567.png"})
    g["51"]["inputs"]["image"] = INPUT_NAME  # a file the server lists is fine too
    validate_graph(g, INFO, uploaded={"aid-0123.png"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("steps", 2.5, "must be a whole number"),
        ("steps", True, "must be a whole number"),
        ("steps", 0, "below the minimum 1"),
        ("cfg", 101.0, "above the maximum 100"),
        ("cfg", "7", "must be a number"),
        ("seed", -1, "below the minimum 0"),
        ("denoise", 1.5, "above the maximum 1"),
    ],
)
def test_numbers_have_their_type_and_range(name: str, value: Any, message: str) -> None:
    g = base()
    node_of(g, "KSampler")["inputs"][name] = value
    (p,) = problems(g)
    assert f"input '{name}'" in p and message in p


def test_dangling_link_and_bad_output_index() -> None:
    g = base()
    sampler = node_of(g, "KSampler")["inputs"]
    sampler["positive"] = ["999", 0]
    sampler["model"] = [sampler["model"][0], 7]
    found = problems(g)
    assert any("links to node 999, which does not exist" in p for p in found)
    assert any("links to output 7" in p and "which has 3" in p for p in found)
    with pytest.raises(WorkflowInvalid, match="999"):
        validate_structure(g)


def test_link_of_the_wrong_type() -> None:
    g = base()
    sampler = node_of(g, "KSampler")["inputs"]
    sampler["model"] = [sampler["model"][0], 1]  # CLIP instead of MODEL
    (p,) = problems(g)
    assert "'model' expects MODEL" in p and "is CLIP" in p


def test_value_where_a_link_is_needed() -> None:
    g = base()
    node_of(g, "KSampler")["inputs"]["model"] = "random-sd15-tiny.safetensors"
    (p,) = problems(g)
    assert "needs a MODEL link" in p


def test_wildcard_and_combo_links_are_accepted() -> None:
    info = copy.deepcopy(INFO)
    info["AnyOut"] = {"input": {"required": {}}, "output": ["*"]}
    info["ComboOut"] = {"input": {"required": {}}, "output": [["euler", "ddim"]]}
    g = base()
    g["60"] = {"class_type": "AnyOut", "inputs": {}}
    g["61"] = {"class_type": "ComboOut", "inputs": {}}
    sampler = node_of(g, "KSampler")["inputs"]
    sampler["model"] = ["60", 0]
    sampler["sampler_name"] = ["61", 0]
    validate_graph(g, info)
    sampler["sampler_name"] = ["60", 0]  # '*' into a combo
    validate_graph(g, info)


def test_every_violation_is_listed_at_once() -> None:
    g = base()
    node_of(g, "KSampler")["inputs"]["steps"] = 0
    node_of(g, "CheckpointLoaderSimple")["inputs"]["ckpt_name"] = "x"
    node_of(g, "EmptyLatentImage")["class_type"] = "Nope"
    assert len(problems(g)) >= 3


def test_empty_and_malformed_graphs() -> None:
    assert problems({}) == ["the workflow has no nodes"]
    with pytest.raises(WorkflowInvalid, match="needs a 'class_type'"):
        validate_structure({"1": {"inputs": {}}})
