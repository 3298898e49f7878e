"""Check an API graph against a server's ``/object_info`` before it leaves the client.

A violation is a bug in the plugin (or a server without a needed core node), reported in full
here instead of as a server round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import UserError
from .object_info import ObjectInfo, combo_options, spec_options

# Inputs whose value is a file uploaded by this client, not one of the listed options.
UPLOAD_INPUTS = {("LoadImage", "image"), ("LoadImageMask", "image")}


class WorkflowInvalid(UserError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"- {p}" for p in problems)
        super().__init__(
            "The plugin built a workflow this server cannot run. This is a bug in the plugin, "
            "or the server lacks a core node (update ComfyUI). Details:\n" + listed,
            details=listed,
        )


def validate_graph(
    graph: dict[str, Any], object_info: ObjectInfo, uploaded: Iterable[str] = ()
) -> None:
    """Raise :class:`WorkflowInvalid` listing every problem of ``graph``."""
    try:
        problems = list(_problems(graph, object_info, set(uploaded)))
    except (TypeError, AttributeError, ValueError) as e:  # a node list of unexpected shape
        problems = [f"the server's node list (/object_info) cannot be read here: {e}"]
    if problems:
        raise WorkflowInvalid(problems)


def validate_structure(graph: dict[str, Any]) -> None:
    """Checks that need no ``/object_info``: every node has a class and inputs, and every link
    points at a node of the graph. Raise :class:`WorkflowInvalid` listing every problem."""
    problems = list(_structure_problems(graph))
    if problems:
        raise WorkflowInvalid(problems)


def _structure_problems(graph: dict[str, Any]) -> Iterable[str]:
    if not graph:
        yield "the workflow has no nodes"
    for node_id, node in graph.items():
        class_type = node.get("class_type") if isinstance(node, dict) else None
        if not isinstance(class_type, str) or not isinstance(node.get("inputs"), dict):
            yield f"node {node_id}: needs a 'class_type' and 'inputs'"
            continue
        for name, value in node["inputs"].items():
            if _is_link(value) and (value[0] not in graph or value[1] < 0):
                yield (
                    f"node {node_id} ({class_type}): input '{name}' links to node {value[0]} "
                    f"output {value[1]}, which does not exist"
                )


def _problems(graph: dict[str, Any], info: ObjectInfo, uploaded: set[str]) -> Iterable[str]:
    if not graph:
        yield "the workflow has no nodes"
    for node_id, node in graph.items():
        class_type = node.get("class_type")
        where = f"node {node_id} ({class_type})"
        if class_type not in info:
            yield f"{where}: the server has no node class '{class_type}'"
            continue
        spec = info[class_type].get("input", {})
        inputs = node.get("inputs", {})
        for name in spec.get("required", {}):
            if name not in inputs:
                yield f"{where}: required input '{name}' is missing"
        for group in ("required", "optional"):
            for name, input_spec in spec.get(group, {}).items():
                if name in inputs:
                    yield from _check_input(
                        graph, info, uploaded, where, (class_type, name), input_spec, inputs[name]
                    )


def _check_input(
    graph: dict[str, Any],
    info: ObjectInfo,
    uploaded: set[str],
    where: str,
    key: tuple[str, str],
    spec: list[Any],
    value: Any,
) -> Iterable[str]:
    name = key[1]
    spec = spec if isinstance(spec, list) else [spec]  # a malformed spec checks nothing
    kind = spec[0] if spec else None
    options = combo_options(spec)
    if _is_link(value):
        yield from _check_link(graph, info, where, name, kind, options is not None, value)
        return
    if options is not None:
        if key in UPLOAD_INPUTS:
            if value not in uploaded and value not in options:
                yield f"{where}: input '{name}' names '{value}', which was neither uploaded nor on the server"
        elif value not in options:
            shown = ", ".join(map(str, options[:8])) + (" …" if len(options) > 8 else "")
            yield f"{where}: input '{name}' is '{value}', not one of: {shown or '(none)'}"
        return
    limits = spec_options(spec)
    if kind == "INT":
        if not isinstance(value, int) or isinstance(value, bool):
            yield f"{where}: input '{name}' must be a whole number, got {value!r}"
        else:
            yield from _check_range(where, name, value, limits)
    elif kind == "FLOAT":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            yield f"{where}: input '{name}' must be a number, got {value!r}"
        else:
            yield from _check_range(where, name, value, limits)
    elif kind == "STRING":
        if not isinstance(value, str):
            yield f"{where}: input '{name}' must be text, got {value!r}"
    elif kind == "BOOLEAN":
        if not isinstance(value, bool):
            yield f"{where}: input '{name}' must be true or false, got {value!r}"
    elif isinstance(kind, str) and kind.isupper():
        yield f"{where}: input '{name}' needs a {kind} link from another node, got {value!r}"


def _check_range(where: str, name: str, value: float, limits: dict[str, Any]) -> Iterable[str]:
    low, high = limits.get("min"), limits.get("max")
    if isinstance(low, (int, float)) and value < low:
        yield f"{where}: input '{name}' is {value}, below the minimum {low}"
    if isinstance(high, (int, float)) and value > high:
        yield f"{where}: input '{name}' is {value}, above the maximum {high}"


def _is_link(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    )


def _check_link(
    graph: dict[str, Any],
    info: ObjectInfo,
    where: str,
    name: str,
    kind: Any,
    is_combo: bool,
    value: list[Any],
) -> Iterable[str]:
    source_id, index = value
    source = graph.get(source_id)
    if source is None:
        yield f"{where}: input '{name}' links to node {source_id}, which does not exist"
        return
    source_info = info.get(source.get("class_type"))
    if source_info is None:
        return  # reported for the source node itself
    outputs = source_info.get("output", []) if isinstance(source_info, dict) else []
    outputs = outputs if isinstance(outputs, list) else []
    if not 0 <= index < len(outputs):
        yield f"{where}: input '{name}' links to output {index} of node {source_id}, which has {len(outputs)}"
        return
    produced = outputs[index]
    if is_combo:
        if not (isinstance(produced, list) or produced in ("COMBO", "*")):
            yield f"{where}: input '{name}' expects a choice but node {source_id} gives {produced}"
        return
    accepted = {t.strip() for t in str(kind).split(",")}
    if "*" in accepted or produced == "*" or (isinstance(produced, str) and produced in accepted):
        return
    yield f"{where}: input '{name}' expects {kind} but node {source_id} output {index} is {produced}"
