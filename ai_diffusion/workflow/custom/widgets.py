"""Which inputs of a node are widgets in ComfyUI's page, in the order the page saves their
values (``widgets_values``), read from the server's ``/object_info``.

Facts of the ComfyUI frontend this follows: a node's widgets are made from its inputs in
``input_order`` (required, then optional); inputs of a data type (``MODEL``, ``IMAGE`` …) and
those marked ``forceInput`` are sockets, not widgets; a seed (an INT marked
``control_after_generate``, or, in files of older pages, any INT named ``seed`` or
``noise_seed``) is followed by the value of its "control after generate" widget; an input
marked ``image_upload`` (``LoadImage``) adds an upload button after the required inputs, whose
value is saved too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..object_info import ObjectInfo, combo_options, spec_options

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
CONTROL_WORDS = {"fixed", "randomize", "increment", "decrement"}
SEED_NAMES = {"seed", "noise_seed"}
UPLOAD_OPTIONS = ("image_upload", "video_upload", "audio_upload")
UPLOAD_WORDS = {None, "image", "video", "audio", "upload"}


@dataclass(frozen=True)
class Widget:
    name: str
    spec: list[Any]
    required: bool
    control: bool = False  # followed by a "control after generate" value
    upload: bool = False  # the upload button's place (no input of the node)


def ordered_inputs(info: ObjectInfo, class_type: str) -> list[tuple[str, list[Any], bool]]:
    """(name, spec, required) of every input of ``class_type``, in the page's order."""
    node = info.get(class_type)
    inputs = node.get("input") if isinstance(node, dict) else None
    if not isinstance(node, dict) or not isinstance(inputs, dict):
        return []
    order = node.get("input_order")
    if not isinstance(order, dict):
        order = {}
    found = []
    for group in ("required", "optional"):
        specs = inputs.get(group)
        if not isinstance(specs, dict):
            continue
        names = [n for n in order.get(group) or [] if n in specs]
        names += [n for n in specs if n not in names]
        for name in names:
            spec = specs[name] if isinstance(specs[name], list) else [specs[name]]
            found.append((name, spec, group == "required"))
    return found


def is_widget(spec: list[Any]) -> bool:
    if combo_options(spec) is not None:
        return True
    kind = spec[0] if spec else None
    return kind in WIDGET_TYPES and not spec_options(spec).get("forceInput")


def widgets(info: ObjectInfo, class_type: str) -> list[Widget]:
    """The widgets of ``class_type`` in the order of its saved ``widgets_values``."""
    found: list[Widget] = []
    upload = False
    last_required = True
    for name, spec, required in ordered_inputs(info, class_type):
        if not required and last_required and upload:
            found.append(Widget("upload", [], False, upload=True))
            upload = False
        last_required = required
        if not is_widget(spec):
            continue
        options = spec_options(spec)
        control = bool(options.get("control_after_generate")) or (
            spec[0] == "INT" and name in SEED_NAMES
        )
        found.append(Widget(name, spec, required, control=control))
        upload = upload or any(options.get(o) for o in UPLOAD_OPTIONS)
    if upload:
        found.append(Widget("upload", [], False, upload=True))
    return found


def widget_values(info: ObjectInfo, class_type: str, saved: Any) -> dict[str, Any]:
    """Input name → value of the page's saved ``widgets_values`` of a node."""
    known = widgets(info, class_type)
    if isinstance(saved, dict):  # some custom nodes save their widgets by name
        return {w.name: saved[w.name] for w in known if not w.upload and w.name in saved}
    values = list(saved) if isinstance(saved, list) else []
    found: dict[str, Any] = {}
    i = 0
    for widget in known:
        if i >= len(values):
            break
        if widget.upload:
            if values[i] in UPLOAD_WORDS:
                i += 1
            continue
        found[widget.name] = values[i]
        i += 1
        if widget.control and i < len(values) and values[i] in CONTROL_WORDS:
            i += 1
    return found


def default_value(spec: list[Any]) -> Any:
    """What a widget holds on a new node: its default, else a combo's first choice."""
    options = spec_options(spec)
    if "default" in options:
        return options["default"]
    choices = combo_options(spec)
    if choices:
        return choices[0]
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}.get(spec[0] if spec else "")
