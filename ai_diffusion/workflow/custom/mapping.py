"""What a custom workflow takes from Krita and gives back: its image inputs, prompts, seeds,
the parameters the painter may set, and its output images (``derive_mapping``); ``apply``
writes the painter's values into a copy of the graph.

Found in the converted (API) graph: ``LoadImage`` = the canvas (or the layer named by a
``[layer: NAME]`` title marker), ``LoadImageMask`` = the selection; the prompts = the text of
the nodes that feed the positive and negative inputs of a sampler (``KSampler``,
``KSamplerAdvanced``, ``SamplerCustom``, ``CFGGuider``, ``BasicGuider``), followed back over
links; every ``seed`` / ``noise_seed``; parameters = the widgets of nodes titled ``[param]``
(see ``markers.py``) and those picked by name; outputs = ``SaveImage``, ``PreviewImage``,
``SaveImageWebsocket``.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from ..object_info import ObjectInfo, combo_options, input_spec, spec_options
from .convert import Graph, node_order
from .markers import param_names, plain_title, title_markers
from .problems import WorkflowProblem
from .widgets import SEED_NAMES, is_widget

IMAGE_NODES = {"LoadImage": "image", "LoadImageMask": "mask"}
OUTPUT_NODES = ("SaveImage", "SaveImageWebsocket", "PreviewImage")
SAMPLERS = {
    "KSampler": ("positive", "negative"),
    "KSamplerAdvanced": ("positive", "negative"),
    "SamplerCustom": ("positive", "negative"),
    "CFGGuider": ("positive", "negative"),
    "BasicGuider": ("conditioning", None),
}
TEXT_INPUTS = ("text", "prompt", "text_g", "text_l", "value", "string")


@dataclass(frozen=True)
class ImageInput:
    node: str
    kind: str  # "image" (the canvas or a layer) or "mask" (the selection)
    layer: str | None  # a layer's name from the title, None = canvas / selection
    title: str


@dataclass(frozen=True)
class PromptInput:
    node: str
    input: str
    role: str  # "positive" or "negative"
    text: str  # as in the workflow


@dataclass(frozen=True)
class SeedInput:
    node: str
    input: str
    value: int


@dataclass(frozen=True)
class Parameter:
    """A widget the painter sets, typed by the server's limits."""

    node: str
    input: str
    label: str
    kind: str  # "int", "float", "combo", "text" or "bool"
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    multiline: bool = False
    group: str | None = None

    @property
    def key(self) -> str:
        return f"{self.node}.{self.input}"

    def coerce(self, value: Any) -> Any:
        """``value`` (also as text from a command line) as this parameter takes it; raises
        :class:`WorkflowProblem` with the limits when it does not fit."""
        try:
            if self.kind in ("int", "float"):
                number = _number(value, self.kind == "int")
                low = self.minimum if self.minimum is not None else number
                high = self.maximum if self.maximum is not None else number
                if not low <= number <= high:
                    raise ValueError
                return number
            if self.kind == "bool":
                return _boolean(value)
            if self.kind == "combo":
                return _choice(value, self.choices)
            return str(value)
        except ValueError:
            raise WorkflowProblem(f"{self.label}: {self._wants()} (not {value!r}).") from None

    def _wants(self) -> str:
        if self.kind in ("int", "float"):
            what = "a whole number" if self.kind == "int" else "a number"
            if self.minimum is not None and self.maximum is not None:
                return f"give {what} from {_show(self.minimum)} to {_show(self.maximum)}"
            return f"give {what}"
        if self.kind == "bool":
            return "give true or false"
        shown = ", ".join(str(c) for c in self.choices[:12])
        more = " …" if len(self.choices) > 12 else ""
        return f"choose one of {shown}{more}"


@dataclass(frozen=True)
class OutputImage:
    node: str
    class_type: str
    layer: str | None  # a layer's name from the title, None = a new result
    title: str


@dataclass(frozen=True)
class WorkflowMapping:
    graph: Graph
    images: list[ImageInput] = field(default_factory=list)
    prompts: list[PromptInput] = field(default_factory=list)
    seeds: list[SeedInput] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    outputs: list[OutputImage] = field(default_factory=list)

    def parameter(self, key: str) -> Parameter | None:
        return next((p for p in self.parameters if p.key == key), None)


@dataclass
class MappingValues:
    """The painter's values for a workflow; plain JSON (``to_json``), so a UI can keep them."""

    prompt: str | None = None
    negative: str | None = None
    seed: int | None = None
    images: dict[str, str] = field(default_factory=dict)  # image node → uploaded file name
    parameters: dict[str, Any] = field(default_factory=dict)  # "node.input" → value

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MappingValues:
        known = {k: data[k] for k in ("prompt", "negative", "seed") if k in data}
        return cls(
            **known,
            images=dict(data.get("images") or {}),
            parameters=dict(data.get("parameters") or {}),
        )


def derive_mapping(graph: Graph, info: ObjectInfo, picked: tuple[str, ...] = ()) -> WorkflowMapping:
    """The mapping of an API graph; ``picked``: "node.input" keys that become parameters
    (a node may be named by its id or its title)."""
    ids = sorted(graph, key=node_order)
    images, outputs, seeds = [], [], []
    for node_id in ids:
        node = graph[node_id]
        class_type, title = node["class_type"], _title(node)
        layer = title_markers(title).get("layer") or None
        if class_type in IMAGE_NODES:
            images.append(ImageInput(node_id, IMAGE_NODES[class_type], layer, plain_title(title)))
        if class_type in OUTPUT_NODES:
            outputs.append(OutputImage(node_id, class_type, layer, plain_title(title)))
        for name in SEED_NAMES:
            seed = _seed(graph, node_id, name)
            if seed is not None:
                seeds.append(seed)
    keys = [
        _key_for(graph, node_id, names)
        for node_id in ids
        for names in [_param_names(graph, node_id)]
    ]
    params: list[Parameter] = []
    wanted = [k for group in keys for k in group] + [resolve_key(graph, k) for k in picked]
    for key in dict.fromkeys(wanted):
        node_id, name = key.rsplit(".", 1)
        param = _parameter(graph, info, node_id, name)
        if param is not None:
            params.append(param)
    return WorkflowMapping(graph, images, _prompts(graph, info), seeds, params, outputs)


def apply(mapping: WorkflowMapping, values: MappingValues) -> Graph:
    """A copy of the mapping's graph with ``values`` set."""
    graph = copy.deepcopy(mapping.graph)
    for prompt in mapping.prompts:
        text = values.prompt if prompt.role == "positive" else values.negative
        if text is not None:
            graph[prompt.node]["inputs"][prompt.input] = text
    if values.seed is not None:
        for seed in mapping.seeds:
            graph[seed.node]["inputs"][seed.input] = int(values.seed)
    for image in mapping.images:
        name = values.images.get(image.node)
        if name is not None:
            inputs = graph[image.node]["inputs"]
            inputs["image"] = name
            if image.kind == "mask" and "channel" in inputs:
                inputs["channel"] = "red"  # Krita's masks: grey, white = change
    for key, value in values.parameters.items():
        param = mapping.parameter(key)
        if param is None:
            raise WorkflowProblem(
                f"This workflow has no parameter {key}. Its parameters: "
                f"{', '.join(p.key for p in mapping.parameters) or 'none'}."
            )
        graph[param.node]["inputs"][param.input] = param.coerce(value)
    return graph


def resolve_key(graph: Graph, key: str) -> str:
    """``NODE.INPUT`` with NODE an id or a node's title → "id.input"."""
    node, dot, name = key.rpartition(".")
    if not dot or not node or not name:
        raise WorkflowProblem(f"Name a widget as NODE.INPUT, e.g. 3.steps (not {key!r}).")
    if node not in graph:
        matches = [i for i in graph if plain_title(_title(graph[i])).lower() == node.lower()]
        if len(matches) != 1:
            why = "several nodes have that title" if matches else "no node has that id or title"
            raise WorkflowProblem(f"{key}: {why}. Name the node by its id instead.")
        node = matches[0]
    if name not in graph[node]["inputs"]:
        known = ", ".join(graph[node]["inputs"])
        raise WorkflowProblem(f"{key}: node {node} has no input {name} (it has {known}).")
    return f"{node}.{name}"


def _title(node: dict[str, Any]) -> str:
    meta = node.get("_meta")
    return str(meta.get("title") or "") if isinstance(meta, dict) else ""


def _group(node: dict[str, Any]) -> str | None:
    meta = node.get("_meta")
    group = meta.get("group") if isinstance(meta, dict) else None
    return str(group) if group else None


def _param_names(graph: Graph, node_id: str) -> set[str] | None:
    return param_names(_title(graph[node_id]))


def _key_for(graph: Graph, node_id: str, names: set[str] | None) -> list[str]:
    if names is None:
        return []
    inputs = graph[node_id]["inputs"]
    return [
        f"{node_id}.{n}" for n in inputs if (not names or n in names) and not _is_link(inputs[n])
    ]


def _parameter(graph: Graph, info: ObjectInfo, node_id: str, name: str) -> Parameter | None:
    node = graph[node_id]
    value = node["inputs"].get(name)
    spec = input_spec(info, node["class_type"], name)
    if spec is None or _is_link(value) or not is_widget(spec):
        return None
    options = spec_options(spec)
    label = f"{plain_title(_title(node)) or node['class_type']} · {name}"
    common: dict[str, Any] = {"node": node_id, "input": name, "label": label, "group": _group(node)}
    choices = combo_options(spec)
    if choices is not None:
        return Parameter(kind="combo", default=value, choices=tuple(choices), **common)
    kind = spec[0]
    if kind in ("INT", "FLOAT"):
        return Parameter(
            kind=kind.lower(),
            default=value,
            minimum=options.get("min"),
            maximum=options.get("max"),
            step=options.get("step"),
            **common,
        )
    if kind == "BOOLEAN":
        return Parameter(kind="bool", default=value, **common)
    return Parameter(kind="text", default=value, multiline=bool(options.get("multiline")), **common)


def _seed(graph: Graph, node_id: str, name: str) -> SeedInput | None:
    value = graph[node_id]["inputs"].get(name)
    if _is_link(value):  # a seed from a node (e.g. a primitive on the server): set it there
        origin = graph.get(str(value[0]))
        if origin is None:
            return None
        for source in ("seed", "value", "int"):
            if isinstance(origin["inputs"].get(source), int):
                return SeedInput(str(value[0]), source, origin["inputs"][source])
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return SeedInput(node_id, name, value)
    return None


def _prompts(graph: Graph, info: ObjectInfo) -> list[PromptInput]:
    found: dict[tuple[str, str], PromptInput] = {}
    for role in ("positive", "negative"):
        for node_id in sorted(graph, key=node_order):
            node = graph[node_id]
            inputs = SAMPLERS.get(node["class_type"])
            name = inputs and (inputs[0] if role == "positive" else inputs[1])
            link = node["inputs"].get(name) if name else None
            if not isinstance(link, list) or not _is_link(link):
                continue
            for text_node, text_input in _texts_above(graph, info, str(link[0]), role):
                key = (text_node, text_input)
                if key not in found:  # a negative made of the positive stays positive
                    text = graph[text_node]["inputs"][text_input]
                    found[key] = PromptInput(text_node, text_input, role, text)
    return list(found.values())


def _texts_above(graph: Graph, info: ObjectInfo, start: str, role: str) -> list[tuple[str, str]]:
    """The text widgets of the nearest node above ``start`` (itself included) that has one;
    through a node with both a positive and a negative input, only ``role``'s is followed."""
    queue, seen = deque([start]), {start}
    while queue:
        node_id = queue.popleft()
        node = graph.get(node_id)
        if node is None:
            continue
        texts = []
        for name in TEXT_INPUTS:
            value = node["inputs"].get(name)
            spec = input_spec(info, node["class_type"], name)
            if spec and spec[0] == "STRING" and isinstance(value, str):
                texts.append((node_id, name))
        if texts:
            return texts
        inputs = node["inputs"]
        if _is_link(inputs.get("positive")) and _is_link(inputs.get("negative")):
            inputs = {role: inputs[role]}
        for value in inputs.values():
            if _is_link(value) and str(value[0]) not in seen:
                seen.add(str(value[0]))
                queue.append(str(value[0]))
    return []


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def _number(value: Any, whole: bool) -> float:
    if isinstance(value, bool):
        raise ValueError
    number = float(value)
    if whole:
        if number != int(number):
            raise ValueError
        return int(number)
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValueError


def _choice(value: Any, choices: tuple[Any, ...]) -> Any:
    for choice in choices:
        if choice == value or str(choice) == str(value):
            return choice
    raise ValueError


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
