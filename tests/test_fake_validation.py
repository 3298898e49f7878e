"""The fake ComfyUI validates posted graphs as the recorded ComfyUI servers do
(execution.validate_inputs): links by output type and index, optional inputs too, with the real
error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.captures import VERSIONS, capture
from tests.comfy_fixtures import object_info
from tests.fakes.comfy_validation import validate

INFO = object_info()
RAN = [(v, name) for v in VERSIONS for name in capture(v).graphs]


class AnyInput:
    def __contains__(self, name: object) -> bool:
        return True


def txt2img() -> dict[str, Any]:
    return json.loads(json.dumps(capture().graphs["txt2img"]))


def errors(graph: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    body = validate(graph, INFO, AnyInput())
    assert body is not None
    return {node: entry["errors"] for node, entry in body["node_errors"].items()}


@pytest.mark.parametrize(("version", "name"), RAN)
def test_graphs_the_real_server_ran_pass(version: str, name: str) -> None:
    graph = capture(version).graphs[name]
    assert validate(graph, object_info(version), AnyInput()) is None


@pytest.mark.parametrize("version", VERSIONS)
def test_a_link_of_the_wrong_type_is_refused_with_the_real_body(version: str) -> None:
    graph = txt2img()
    graph["6"]["inputs"]["samples"] = ["2", 0]  # CONDITIONING into VAEDecode's LATENT
    real = capture(version).errors["err_type_mismatch_link"]["body"]["node_errors"]["6"]["errors"]
    body = validate(graph, object_info(version), AnyInput())
    assert body is not None and body["node_errors"]["6"]["errors"] == real


def test_an_output_index_out_of_range_is_refused() -> None:
    graph = txt2img()
    graph["6"]["inputs"]["vae"] = ["1", 3]  # the checkpoint loader has three outputs
    (error,) = errors(graph)["6"]
    assert error["type"] == "exception_during_inner_validation"
    assert error["details"] == "tuple index out of range"


def test_a_link_that_is_not_a_pair_is_refused() -> None:
    graph = txt2img()
    graph["6"]["inputs"]["vae"] = ["1", 2, 0]
    assert errors(graph)["6"][0]["type"] == "bad_linked_input"


def test_optional_inputs_are_validated_when_given() -> None:
    graph = txt2img()
    graph["8"] = {
        "class_type": "ImageCompositeMasked",
        "inputs": {"destination": ["6", 0], "source": ["6", 0], "x": 0, "y": 0,
                   "resize_source": False, "mask": ["6", 0]},
    }  # fmt: skip
    (error,) = errors(graph)["8"]
    assert error["type"] == "return_type_mismatch" and error["extra_info"]["input_name"] == "mask"
    del graph["8"]["inputs"]["mask"]  # absent is fine: it is optional
    assert validate(graph, INFO, AnyInput()) is None
