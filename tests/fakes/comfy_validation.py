"""How the fake ComfyUI checks a posted graph, answering with the real error bodies (the
recorded refusals in tests/data/comfyui/<version>/errors.json)."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from ai_diffusion.workflow.object_info import combo_options, spec_options

UPLOAD_INPUTS = {("LoadImage", "image"), ("LoadImageMask", "image")}
LONG_LIST = 20  # ComfyUI sends "(list of length N)" and no input_config above this


def _body(type_: str, message: str, details: str = "", node_errors: dict | None = None) -> dict:
    return {
        "error": {"type": type_, "message": message, "details": details, "extra_info": {}},
        "node_errors": node_errors or {},
    }


def _error(type_: str, message: str, details: str, **extra_info: Any) -> dict[str, Any]:
    return {"type": type_, "message": message, "details": details, "extra_info": extra_info}


def validate(
    graph: dict[str, Any], object_info: dict[str, Any], inputs: Container[str]
) -> dict[str, Any] | None:
    """The 400 body ComfyUI would answer for ``graph``, or None when it would queue it."""
    for node_id, node in graph.items():
        class_type = node.get("class_type") if isinstance(node, dict) else None
        if class_type not in object_info:
            return _body(
                "invalid_prompt",
                f"Cannot execute because node {class_type} does not exist.",
                f"Node ID '#{node_id}'",
            )
    if not any(object_info[n["class_type"]].get("output_node") for n in graph.values()):
        return _body("prompt_no_outputs", "Prompt has no outputs")
    node_errors = {}
    for node_id, node in graph.items():
        errors = _node_errors(node, graph, object_info, inputs)
        if errors:
            node_errors[node_id] = {
                "errors": errors,
                "dependent_outputs": [],
                "class_type": node["class_type"],
            }
    if node_errors:
        return _body(
            "prompt_outputs_failed_validation",
            "Prompt outputs failed validation",
            node_errors=node_errors,
        )
    return None


def _node_errors(
    node: dict[str, Any], graph: dict[str, Any], object_info: dict[str, Any], inputs: Container[str]
) -> list[dict[str, Any]]:
    errors = []
    class_type = node["class_type"]
    values = node.get("inputs") or {}
    groups = object_info[class_type]["input"]
    specs = [(name, spec, True) for name, spec in groups.get("required", {}).items()]
    specs += [(name, spec, False) for name, spec in groups.get("optional", {}).items()]
    for name, spec, required in specs:
        value = values.get(name)
        if value is None:
            if required:
                errors.append(
                    _error(
                        "required_input_missing", "Required input is missing", name, input_name=name
                    )
                )
            continue
        if isinstance(value, list):
            error = _link_error(name, spec, value, graph, object_info)
            if error:
                errors.append(error)
            continue
        options = combo_options(spec)
        if options is not None:
            if (class_type, name) in UPLOAD_INPUTS:
                if value not in inputs:
                    errors.append(
                        _error(
                            "custom_validation_failed",
                            "Custom validation failed for node",
                            f"{name} - Invalid image file: {value}",
                            input_name=name,
                            input_config=spec,
                            received_value=value,
                        )
                    )
            elif value not in options:
                long = len(options) > LONG_LIST
                listed = f"(list of length {len(options)})" if long else str(options)
                errors.append(
                    _error(
                        "value_not_in_list",
                        "Value not in list",
                        f"{name}: '{value}' not in {listed}",
                        input_name=name,
                        input_config=None if long else spec,
                        received_value=value,
                    )
                )
            continue
        error = _number_error(name, spec, value)
        if error:
            errors.append(error)
    return errors


def _link_error(
    name: str, spec: list[Any], value: list[Any], graph: dict[str, Any], object_info: dict[str, Any]
) -> dict[str, Any] | None:
    """Like ComfyUI's validate_inputs for a link ``[node_id, output_index]``."""
    if len(value) != 2:
        return _error(
            "bad_linked_input",
            "Bad linked input, must be a length-2 list of [node_id, slot_index]",
            name,
            input_name=name,
            input_config=spec,
            received_value=value,
        )
    source, index = value
    outputs = object_info.get(graph.get(source, {}).get("class_type"), {}).get("output")
    if source not in graph or not isinstance(index, int) or not 0 <= index < len(outputs or []):
        problem = f"'{source}'" if source not in graph else "tuple index out of range"
        return _error(
            "exception_during_inner_validation",
            "Exception when validating inner node",
            problem,
            input_name=name,
            input_config=spec,
            exception_message=problem,
            exception_type="KeyError" if source not in graph else "IndexError",
            linked_node=value,
        )
    received = outputs[index]
    wanted = spec[0] if spec else "*"
    if not _types_match(received, wanted):
        return _error(
            "return_type_mismatch",
            "Return type mismatch between linked nodes",
            f"{name}, received_type({received}) mismatch input_type({wanted})",
            input_name=name,
            input_config=spec,
            received_type=received,
            linked_node=value,
        )
    return None


def _types_match(received: Any, wanted: Any) -> bool:
    """comfy_execution.validation.validate_node_input, not strict."""
    if received == wanted or "*" in (received, wanted):
        return True
    if isinstance(received, list) and wanted == "COMBO":
        return True
    if not isinstance(received, str) or not isinstance(wanted, str):
        return False
    got = {t.strip() for t in received.split(",")}
    accepted = {t.strip() for t in wanted.split(",")}
    return "*" in got | accepted or bool(got & accepted)


def _number_error(name: str, spec: list[Any], value: Any) -> dict[str, Any] | None:
    kind = spec[0] if spec else None
    if kind not in ("INT", "FLOAT"):
        return None
    try:
        number = int(value) if kind == "INT" else float(value)
    except (TypeError, ValueError) as e:
        return _error(
            "invalid_input_type",
            f"Failed to convert an input value to a {kind} value",
            f"{name}, {value}, {e}",
            input_name=name,
            input_config=spec,
            received_value=value,
            exception_message=str(e),
        )
    limits = spec_options(spec)
    if "min" in limits and number < limits["min"]:
        return _error(
            "value_smaller_than_min",
            f"Value {number} smaller than min of {limits['min']}",
            f"{name}",
            input_name=name,
            input_config=spec,
            received_value=value,
        )
    if "max" in limits and number > limits["max"]:
        return _error(
            "value_bigger_than_max",
            f"Value {number} bigger than max of {limits['max']}",
            f"{name}",
            input_name=name,
            input_config=spec,
            received_value=value,
        )
    return None
